// Passkeys (WebAuthn): the browser's half of adding a passkey (a form with data-passkey-create) and of using one
// after the password (a form with data-passkey-get). The server's options come as JSON with base64url strings;
// the device's answer goes back as JSON in the form's hidden "credential" field, and the form is then sent as any
// other form (ketaclinic/accounts/passkeys.py checks it).
(function () {
  "use strict";

  function toBytes(b64url) {
    var b64 = b64url.replace(/-/g, "+").replace(/_/g, "/");
    while (b64.length % 4) b64 += "=";
    var raw = atob(b64), out = new Uint8Array(raw.length);
    for (var i = 0; i < raw.length; i++) out[i] = raw.charCodeAt(i);
    return out.buffer;
  }

  function toB64url(buffer) {
    var bytes = new Uint8Array(buffer), raw = "";
    for (var i = 0; i < bytes.length; i++) raw += String.fromCharCode(bytes[i]);
    return btoa(raw).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
  }

  function csrf(form) {
    var field = form.querySelector("input[name=csrfmiddlewaretoken]");
    return field ? field.value : "";
  }

  function say(form, text) {
    var slot = form.querySelector("[data-passkey-problem]");
    if (!slot) return;
    slot.textContent = text;
    slot.hidden = !text;
  }

  function options(form, url) {
    var body = new FormData();
    body.append("csrfmiddlewaretoken", csrf(form));
    var password = form.querySelector("input[name=password]");
    if (password) body.append("password", password.value);  // adding a passkey: the account's password again
    return fetch(url, {method: "POST", body: body, credentials: "same-origin", headers: {"X-CSRFToken": csrf(form)}})
      .then(function (r) { return r.json(); })
      .then(function (o) {
        if (o.error) throw new Error(o.error);
        return o;
      });
  }

  function problem(err) {
    if (err && err.name === "NotAllowedError") return "The passkey was not used (cancelled, or it timed out). Try again.";
    if (err && err.name === "InvalidStateError") return "This device already holds one of your passkeys.";
    return (err && err.message) || "The passkey could not be used.";
  }

  function descriptors(list) {
    return (list || []).map(function (c) { return {type: c.type, id: toBytes(c.id), transports: c.transports}; });
  }

  // The device's answer as JSON in the form's hidden field, then the form is sent.
  function send(form, cred, response) {
    response.clientDataJSON = toB64url(cred.response.clientDataJSON);
    var password = form.querySelector("input[name=password]");
    if (password) password.value = "";  // checked already: not sent again
    form.querySelector("[name=credential]").value = JSON.stringify({
      id: cred.id, rawId: toB64url(cred.rawId), type: cred.type,
      authenticatorAttachment: cred.authenticatorAttachment || null,
      clientExtensionResults: cred.getClientExtensionResults ? cred.getClientExtensionResults() : {},
      response: response
    });
    form.submit();
  }

  function create(form) {
    form.addEventListener("submit", function (event) {
      if (form.querySelector("[name=credential]").value) return;  // the answer is in: send the form
      event.preventDefault();
      say(form, "");
      if (!window.PublicKeyCredential) { say(form, "This browser cannot use passkeys."); return; }
      options(form, form.getAttribute("data-passkey-create")).then(function (o) {
        o.challenge = toBytes(o.challenge);
        o.user.id = toBytes(o.user.id);
        o.excludeCredentials = descriptors(o.excludeCredentials);
        return navigator.credentials.create({publicKey: o});
      }).then(function (cred) {
        send(form, cred, {
          attestationObject: toB64url(cred.response.attestationObject),
          transports: cred.response.getTransports ? cred.response.getTransports() : []
        });
      }).catch(function (err) { say(form, problem(err)); });
    });
  }

  function get(form) {
    form.addEventListener("submit", function (event) {
      if (form.querySelector("[name=credential]").value) return;
      event.preventDefault();
      say(form, "");
      if (!window.PublicKeyCredential) { say(form, "This browser cannot use passkeys: type the code instead."); return; }
      options(form, form.getAttribute("data-passkey-get")).then(function (o) {
        o.challenge = toBytes(o.challenge);
        o.allowCredentials = descriptors(o.allowCredentials);
        return navigator.credentials.get({publicKey: o});
      }).then(function (cred) {
        send(form, cred, {
          authenticatorData: toB64url(cred.response.authenticatorData),
          signature: toB64url(cred.response.signature),
          userHandle: cred.response.userHandle ? toB64url(cred.response.userHandle) : null
        });
      }).catch(function (err) { say(form, problem(err)); });
    });
  }

  // The forms' buttons come disabled: pressed before this script listens (it is deferred), a form would be sent
  // without the device's answer. They are enabled once the form is handled here.
  function ready(form) {
    form.querySelectorAll("button[data-passkey-button]").forEach(function (b) { b.disabled = false; });
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("form[data-passkey-create]").forEach(function (f) { create(f); ready(f); });
    document.querySelectorAll("form[data-passkey-get]").forEach(function (f) { get(f); ready(f); });
  });
})();
