// Work-order changes as they happen: the /ws stream's "workorder" and "page" frames (api/followup.py LiveNotices;
// the server sends them only to roles that may read them). Point updates on the same stream are ignored here.
// The socket reconnects with backoff; the page's interval refresh stays the fallback while it is away.
const RETRY_MS = [1_000, 2_000, 5_000, 10_000];
const SESSION_CLOSED = 4401; // the session ended: the shell's own check sends the user to /login
const ROLE_CHANGED = 4205; // api/ws.py: the user was given another role

export class WorkOrderStream {
  // onOrder(frame) for every work-order change, onPage(frame.page) for every page to this user's role;
  // onOpen() after each reconnection: what changed while it was away is fetched then. quietPoint: one point
  // id, so that the stream carries that point's updates only (a phone need not receive the whole hall's).
  // onRoleChanged() when the server closed the stream because the user was given another role.
  constructor({ onOrder, onPage = () => {}, onOpen = () => {}, onRoleChanged = () => {}, quietPoint = null }) {
    this.quietPoint = quietPoint;
    this.onRoleChanged = onRoleChanged;
    this.onOrder = onOrder;
    this.onPage = onPage;
    this.onOpen = onOpen;
    this.attempts = 0;
    this.socket = null;
    this.stopped = false;
    this.connected = false;
    this.frames = 0; // work-order and page frames received (tests read it)
    this.opens = 0;
  }

  connect() {
    if (this.stopped) return;
    const scheme = location.protocol === 'https:' ? 'wss' : 'ws';
    const query = this.quietPoint ? `?points=${encodeURIComponent(this.quietPoint)}` : '';
    const socket = new WebSocket(`${scheme}://${location.host}/ws${query}`);
    this.socket = socket;
    socket.addEventListener('open', () => {
      this.attempts = 0;
      this.connected = true;
      this.opens += 1;
      if (this.opens > 1) this.onOpen(); // the first: the page has just loaded everything
    });
    socket.addEventListener('message', (event) => this.receive(event.data));
    socket.addEventListener('close', (event) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.connected = false;
      if (event.code === SESSION_CLOSED || event.code === ROLE_CHANGED) {
        this.stopped = true; // retrying cannot help
        if (event.code === ROLE_CHANGED) this.onRoleChanged();
        return;
      }
      if (this.stopped) return;
      const delay = RETRY_MS[Math.min(this.attempts, RETRY_MS.length - 1)];
      this.attempts += 1;
      setTimeout(() => this.connect(), delay);
    });
  }

  receive(text) {
    // Point frames are the bulk of the stream: skip them without parsing.
    if (!text.startsWith('{"type":"workorder"') && !text.startsWith('{"type":"page"')) return;
    const frame = JSON.parse(text);
    this.frames += 1;
    if (frame.type === 'workorder') this.onOrder(frame);
    else if (frame.type === 'page') this.onPage(frame.page);
  }

  stop() {
    this.stopped = true;
    this.socket?.close(1000);
  }
}
