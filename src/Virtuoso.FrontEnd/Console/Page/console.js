// The console page (design §7; the page is Web/Machines/Console.cshtml): asks the front-end for a one-time ticket
// (POST with the page's anti-forgery token and the session cookie), opens noVNC's RFB on the same-origin console
// WebSocket with the session's VNC password, scales the guest's screen to the page, and ends the session when the
// page goes away. noVNC comes from the front-end itself (Debian's novnc package at /novnc/).
import RFB from '/novnc/core/rfb.js';

const root = document.getElementById('console');
const stateLabel = document.getElementById('console-state');
const message = document.getElementById('message');
const cad = document.getElementById('cad');
const again = document.getElementById('reconnect');
let rfb = null;

function setState(state, text) {
  root.dataset.state = state;
  stateLabel.textContent = state;
  message.textContent = text || '';
}

async function ticket() {
  const token = document.querySelector('#ticket-form input[name="__RequestVerificationToken"]').value;
  const response = await fetch(root.dataset.ticketUrl, {
    method: 'POST', credentials: 'same-origin', redirect: 'manual',
    headers: { 'RequestVerificationToken': token },
  });
  if (response.type === 'opaqueredirect') {
    // The session cookie expired: log in again, then come back here.
    location.href = '/login?returnUrl=' + encodeURIComponent(location.pathname);
    return null;
  }
  const body = await response.json().catch(() => ({}));
  if (!response.ok) throw new Error(body.detail || body.title || `the front-end answered ${response.status}`);
  return body;
}

async function connect() {
  again.hidden = true;
  setState('connecting', 'asking for a console ticket…');
  let t;
  try {
    t = await ticket();
  } catch (e) {
    setState('failed', e.message);
    again.hidden = false;
    return;
  }
  if (!t) return;
  const url = (location.protocol === 'https:' ? 'wss://' : 'ws://') + location.host + t.webSocketPath;
  // Our own WebSocket, handed to noVNC, so that the close reason (e.g. another viewer took over) can be shown.
  const ws = new WebSocket(url);
  ws.binaryType = 'arraybuffer';
  let closeReason = '';
  ws.addEventListener('close', e => { closeReason = e.reason; });
  rfb = new RFB(document.getElementById('screen'), ws, { credentials: { password: t.password } });
  rfb.scaleViewport = true;
  rfb.resizeSession = false;
  rfb.focusOnClick = true;
  rfb.addEventListener('connect', () => {
    setState('connected', '');
    cad.disabled = false;
    rfb.focus();
  });
  rfb.addEventListener('credentialsrequired', () => rfb.sendCredentials({ password: t.password }));
  rfb.addEventListener('securityfailure', e => setState('failed', 'the VNC server refused: ' + (e.detail.reason || e.detail.status)));
  rfb.addEventListener('disconnect', e => {
    cad.disabled = true;
    again.hidden = false;
    rfb = null;
    if (root.dataset.state !== 'failed')
      setState('disconnected', closeReason || (e.detail.clean ? 'the console closed' : 'the console connection was lost'));
  });
}

cad.addEventListener('click', () => { if (rfb) { rfb.sendCtrlAltDel(); rfb.focus(); } });
again.addEventListener('click', connect);
// Closing the page closes the WebSocket; the front-end then ends the session on the agent.
window.addEventListener('pagehide', () => { if (rfb) rfb.disconnect(); });

connect();
