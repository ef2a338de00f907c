// Says why security keys cannot be used at this address, instead of buttons that do nothing:
// browsers refuse WebAuthn at an IP address and outside a secure context (HTTPS or localhost).

// The buttons allauth's templates wire to navigator.credentials.
const BUTTONS = ["mfa_webauthn_add", "mfa_webauthn_signup", "mfa_webauthn_authenticate",
  "mfa_webauthn_reauthenticate", "passkey_login"];

function isIpAddress(hostname) {
  return /^\d{1,3}(\.\d{1,3}){3}$/.test(hostname) || hostname.startsWith("[");
}

function reason() {
  if (isIpAddress(location.hostname)) return "ip-address";
  if (!window.isSecureContext) return "insecure";
  if (!window.PublicKeyCredential || !navigator.credentials) return "unsupported";
  return null;
}

function explain() {
  const why = reason();
  if (!why) return;
  const message = document.querySelector(`[data-webauthn-unavailable="${why}"]`);
  const buttons = BUTTONS.map((id) => document.getElementById(id)).filter(Boolean);
  if (!message || !buttons.length) return;
  const link = message.querySelector("[data-webauthn-localhost]");
  if (link) {
    const port = location.port ? `:${location.port}` : "";
    link.href = `${location.protocol}//localhost${port}${location.pathname}${location.search}`;
  }
  message.id = "webauthn-unavailable";
  // Next to the first button, where the person looks when it does not react.
  const first = buttons[0];
  (first.closest(".form-actions, .button-group") || first).after(message);
  message.hidden = false;
  for (const button of buttons) {
    button.disabled = true;
    button.setAttribute("aria-describedby", message.id);
  }
}

explain();
