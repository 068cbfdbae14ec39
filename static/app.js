// Progressive enhancement only: every page works without this file.
(function () {
  "use strict";

  function copyFrom(button) {
    var input = document.getElementById(button.getAttribute("data-copy-target"));
    if (!input) return;
    var status = document.querySelector("[data-testid='copy-status']");
    var done = function () {
      button.textContent = "Copied";
      if (status) status.textContent = "Copied to clipboard.";
    };
    if (navigator.clipboard && window.isSecureContext) {
      navigator.clipboard.writeText(input.value).then(done, function () {
        input.focus();
        input.select();
        if (status) status.textContent = "Press Ctrl+C (or Cmd+C) to copy.";
      });
    } else {
      input.focus();
      input.select();
      try { if (document.execCommand("copy")) done(); } catch (e) { /* selection stays for manual copy */ }
    }
  }

  document.addEventListener("click", function (event) {
    var target = event.target instanceof Element ? event.target : null;
    if (!target) return;
    var button = target.closest("[data-copy-target]");
    if (button) { copyFrom(button); return; }
    // Close open row menus when clicking elsewhere.
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      if (!menu.contains(target)) menu.removeAttribute("open");
    });
  });

  document.addEventListener("focusin", function (event) {
    var el = event.target;
    if (el instanceof HTMLInputElement && el.hasAttribute("data-select-on-focus")) el.select();
  });

  document.addEventListener("keydown", function (event) {
    if (event.key !== "Escape") return;
    document.querySelectorAll("details.menu[open]").forEach(function (menu) {
      menu.removeAttribute("open");
      var summary = menu.querySelector("summary");
      if (summary) summary.focus();
    });
  });

  // The expiry date field matters only with "On a date…"; show it only then.
  function syncExpiry(root) {
    root.querySelectorAll("select#expiry").forEach(function (select) {
      var box = select.parentElement.querySelector("[data-expiry-date]");
      if (box) box.hidden = select.value !== "date";
    });
  }
  document.addEventListener("change", function (event) {
    if (event.target instanceof HTMLSelectElement && event.target.id === "expiry") syncExpiry(document);
  });
  document.addEventListener("DOMContentLoaded", function () { syncExpiry(document); });
  document.addEventListener("htmx:afterSettle", function () { syncExpiry(document); });

  // Confirmations loaded by htmx into #modal become modal dialogs; closing one clears it.
  function clearModal() {
    var root = document.getElementById("modal");
    if (root) root.innerHTML = "";
  }
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (!target || target.id !== "modal") return;
    var dialog = target.querySelector("dialog");
    if (!dialog) return;
    document.querySelectorAll("details.menu[open]").forEach(function (m) { m.removeAttribute("open"); });
    // The template's dialog arrives open (non-modal, for the no-JS page). Dropping the
    // attribute, unlike close(), queues no "close" event.
    dialog.removeAttribute("open");
    dialog.addEventListener("close", clearModal);
    dialog.showModal();
  });
  document.addEventListener("click", function (event) {
    var cancel = event.target instanceof Element ? event.target.closest("[data-dialog-cancel]") : null;
    var dialog = cancel ? cancel.closest("dialog") : null;
    if (dialog && dialog.matches(":modal")) {
      event.preventDefault();
      dialog.close();
    }
  });
  // A form submitted from a dialog swaps #content; the dialog's job is done.
  document.addEventListener("htmx:beforeSwap", function (event) {
    var elt = event.detail && event.detail.requestConfig && event.detail.requestConfig.elt;
    var dialog = elt && elt.closest ? elt.closest("dialog") : null;
    if (dialog && dialog.matches(":modal")) dialog.close();
  });

  // A 503 notice shows over the page until the next swap that worked.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    var notice = document.getElementById("service-notice");
    if (notice && target && target !== notice) notice.innerHTML = "";
  });

  // htmx keeps a page for Back as its markup, and what was typed into a search box (or chosen
  // in a filter) is not in the markup: write it there first, so Back shows what its URL says.
  // Never a whole key: history is kept in the browser's storage.
  document.addEventListener("htmx:beforeHistorySave", function () {
    document.querySelectorAll("form[method=get] input[type=search]").forEach(function (input) {
      if (/sk_(live|test)_/.test(input.value)) input.setAttribute("value", "");
      else input.setAttribute("value", input.value);
    });
    document.querySelectorAll("form[method=get] select").forEach(function (select) {
      Array.prototype.forEach.call(select.options, function (option) {
        if (option.selected) option.setAttribute("selected", "");
        else option.removeAttribute("selected");
      });
    });
  });

  // Passkeys (WebAuthn): the forms and buttons are hidden until this script shows them, so
  // without JavaScript the page says what it needs instead. The server speaks the WebAuthn
  // JSON forms that browsers parse and produce themselves (parse…OptionsFromJSON, toJSON).
  function post(url, fields) {
    return fetch(url, {
      method: "POST",
      credentials: "same-origin",
      headers: { "Content-Type": "application/x-www-form-urlencoded" },
      body: new URLSearchParams(fields).toString()
    }).then(function (res) {
      return res.json().then(function (body) {
        if (!res.ok) throw new Error(body.error || "Something went wrong. Try again.");
        return body;
      });
    });
  }
  function passkeysSupported() {
    return window.PublicKeyCredential && PublicKeyCredential.parseCreationOptionsFromJSON &&
      PublicKeyCredential.parseRequestOptionsFromJSON;
  }
  var UNSUPPORTED = "This browser cannot use passkeys here.";
  function cancelled(error) {
    return error && error.name === "NotAllowedError" ? "Cancelled: nothing changed." : error.message;
  }

  function registerPasskey(form) {
    var status = form.querySelector("[data-passkey-status]");
    var csrf = form.querySelector("input[name=csrf_token]").value;
    var name = form.querySelector("input[name=name]").value;
    status.textContent = "";
    if (!passkeysSupported()) { status.textContent = UNSUPPORTED; return; }
    post(form.action, { csrf_token: csrf, name: name })
      .then(function (options) {
        return navigator.credentials.create({
          publicKey: PublicKeyCredential.parseCreationOptionsFromJSON(options.publicKey)
        });
      })
      .then(function (credential) {
        return post("/account/passkeys", { csrf_token: csrf, credential: JSON.stringify(credential.toJSON()) });
      })
      .then(function (done) { window.location.assign(done.redirect); })
      .catch(function (error) { status.textContent = cancelled(error); });
  }

  function signInWithPasskey(button) {
    var status = document.querySelector("[data-passkey-status]");
    var csrf = button.getAttribute("data-csrf");
    if (status) status.textContent = "";
    if (!passkeysSupported()) { if (status) status.textContent = UNSUPPORTED; return; }
    post("/login/passkey/options", { csrf_token: csrf })
      .then(function (options) {
        return navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey)
        });
      })
      .then(function (credential) {
        return post("/login/passkey", {
          csrf_token: csrf,
          next: button.getAttribute("data-next") || "/",
          credential: JSON.stringify(credential.toJSON())
        });
      })
      .then(function (done) { window.location.assign(done.redirect); })
      .catch(function (error) { if (status) status.textContent = cancelled(error); });
  }

  // "Confirm it's you" with a passkey: the answer goes into the confirmation's own form, which
  // then posts the action's fields as a password would have.
  function confirmWithPasskey(button) {
    var form = document.getElementById(button.getAttribute("data-form"));
    var status = document.getElementById("passkey-confirm-status");
    var csrf = form.querySelector("input[name=csrf_token]").value;
    status.textContent = "";
    if (!passkeysSupported()) { status.textContent = UNSUPPORTED; return; }
    post("/login/passkey/options", { csrf_token: csrf })
      .then(function (options) {
        return navigator.credentials.get({
          publicKey: PublicKeyCredential.parseRequestOptionsFromJSON(options.publicKey)
        });
      })
      .then(function (credential) {
        form.querySelector("input[name=confirm_passkey]").value = JSON.stringify(credential.toJSON());
        form.submit();
      })
      .catch(function (error) { status.textContent = cancelled(error); });
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (form instanceof HTMLFormElement && form.hasAttribute("data-passkey-register")) {
      event.preventDefault();
      registerPasskey(form);
    }
  });
  document.addEventListener("click", function (event) {
    var button = event.target instanceof Element ? event.target.closest("[data-passkey-sign-in]") : null;
    if (button) { event.preventDefault(); signInWithPasskey(button); }
    var confirm = event.target instanceof Element ? event.target.closest("[data-passkey-confirm]") : null;
    if (confirm) { event.preventDefault(); confirmWithPasskey(confirm); }
  });
  function showPasskeys() {
    document.querySelectorAll("[data-passkey-register], [data-passkey-sign-in], [data-passkey-block], [data-passkey-confirm]").forEach(function (el) {
      el.hidden = false;
    });
  }
  document.addEventListener("DOMContentLoaded", showPasskeys);
  document.addEventListener("htmx:afterSettle", showPasskeys);

  // After an htmx swap of the main column, move focus there so keyboard and screen-reader
  // users land on the new content.
  document.addEventListener("htmx:afterSwap", function (event) {
    var target = event.detail && event.detail.target;
    if (target && target.id === "content") {
      var heading = target.querySelector("h1");
      if (heading) { heading.setAttribute("tabindex", "-1"); heading.focus({ preventScroll: true }); }
      window.scrollTo(0, 0);
    }
  });
})();
