DROP TABLE cache_epoch;
DROP TABLE cluster_nodes;
