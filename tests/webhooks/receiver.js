// Receives Latchkey's webhook deliveries and verifies each one twice:
// - POST /webhook: the platform docs' (seed 004) receiver, verbatim — express.json(),
//   then verifySignature(JSON.stringify(req.body), X-Chatbot-Signature, WEBHOOK_SECRET);
// - POST /standard: the Standard Webhooks library over the raw body and the webhook-* headers.
// GET /stats reports what was accepted and rejected. PORT, WEBHOOK_SECRET and
// STANDARD_SECRET come from the environment.
const express = require('express');
const { Webhook } = require('standardwebhooks');

const stats = { seed: { accepted: [], rejected: 0 }, standard: { accepted: [], rejected: 0 } };

// ---- seed 004, as written ----------------------------------------------------------------
const crypto = require('crypto');

function verifySignature(payload, signature, secret) {
  const hmac = crypto.createHmac('sha256', secret);
  const computed = 'sha256=' + hmac.update(payload).digest('hex');
  return crypto.timingSafeEqual(
    Buffer.from(signature),
    Buffer.from(computed)
  );
}
// --------------------------------------------------------------------------------------------

const app = express();

app.post('/webhook', express.json(), (req, res) => {
  const signature = req.headers['x-chatbot-signature'];
  const payload = JSON.stringify(req.body);

  let ok = false;
  try { ok = verifySignature(payload, signature, process.env.WEBHOOK_SECRET); } catch (e) { ok = false; }
  if (!ok) {
    stats.seed.rejected += 1;
    return res.status(401).json({ error: 'Invalid signature' });
  }

  // Process webhook...
  stats.seed.accepted.push(req.body.type);
  res.status(200).json({ ok: true });
});

app.post('/standard', express.raw({ type: 'application/json' }), (req, res) => {
  try {
    const event = new Webhook(process.env.STANDARD_SECRET).verify(req.body.toString('utf8'), req.headers);
    stats.standard.accepted.push(event.type);
    res.status(200).json({ ok: true });
  } catch (e) {
    stats.standard.rejected += 1;
    res.status(401).json({ error: e.message });
  }
});

app.get('/stats', (req, res) => res.json(stats));

app.listen(Number(process.env.PORT), '127.0.0.1', () => console.log('listening'));
