// The console page (design §7): asks the front-end for a one-time ticket, opens noVNC's RFB on the same-origin
// console WebSocket with the session's VNC password, scales the guest's screen to the window, and ends the
// session when the page goes away. noVNC comes from the front-end itself (Debian's novnc package at /novnc/).
import RFB from '/novnc/core/rfb.js';

const id = location.pathname.split('/')[2];
const body = document.body;
const stateLabel = document.getElementById('state');
const message = document.getElementById('message');
const cad = document.getElementById('cad');
const again = document.getElementById('reconnect');
const login = document.getElementById('login');
const tokenKey = 'virtuoso-token';
let rfb = null;

document.getElementById('machine').textContent = id;

function setState(state, text) {
  body.dataset.state = state;
  stateLabel.textContent = state;
  message.textContent = text || '';
}

// The API's bearer token, kept for this tab only; a cookie session (the web UI's) is sent along as well.
function headers() {
  const h = { 'Content-Type': 'application/json' };
  const token = sessionStorage.getItem(tokenKey);
  if (token) h.Authorization = 'Bearer ' + token;
  const csrf = document.querySelector('meta[name="csrf-token"]');
  if (csrf) h['RequestVerificationToken'] = csrf.content;
  return h;
}

async function ticket() {
  const response = await fetch(`/api/v1/machines/${encodeURIComponent(id)}/console`,
    { method: 'POST', headers: headers(), credentials: 'same-origin', body: '{}' });
  const body = await response.json().catch(() => ({}));
  if (response.status === 401) return { login: true };
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
  if (t.login) {
    setState('login', 'log in first');
    login.hidden = false;
    return;
  }
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
    if (body.dataset.state !== 'failed')
      setState('disconnected', closeReason || (e.detail.clean ? 'the console closed' : 'the console connection was lost'));
  });
}

cad.addEventListener('click', () => { if (rfb) { rfb.sendCtrlAltDel(); rfb.focus(); } });
again.addEventListener('click', connect);
login.addEventListener('submit', async e => {
  e.preventDefault();
  const form = new FormData(login);
  const response = await fetch('/api/v1/sessions', {
    method: 'POST', headers: { 'Content-Type': 'application/json' },
    body: JSON.stringify({ username: form.get('username'), password: form.get('password') }),
  });
  const answer = await response.json().catch(() => ({}));
  if (!response.ok) {
    message.textContent = answer.detail || 'login failed';
    return;
  }
  sessionStorage.setItem(tokenKey, answer.token);
  login.hidden = true;
  connect();
});
// Closing the page closes the WebSocket; the front-end then ends the session on the agent.
window.addEventListener('pagehide', () => { if (rfb) rfb.disconnect(); });

connect();
