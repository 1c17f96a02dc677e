import http from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Received {
  headers: http.IncomingHttpHeaders;
  body: string;
  json: { event_name: string; body: Record<string, unknown>; id: string; created_at: string; partner_id: string };
  at: number;
  /** The status answered, once the whole answer was sent (a 2xx here is a delivery). */
  answered?: number;
}

/** A real HTTP receiver on 127.0.0.1; `respond` decides each answer (default 200). */
export class Receiver {
  readonly received: Received[] = [];
  respond: (r: Received, n: number) => { status: number; headers?: Record<string, string>; delayMs?: number } = () => ({ status: 200 });
  /** Requests received and not answered yet (deliveries in flight). */
  pending = 0;
  private server: http.Server;
  private waiters: (() => void)[] = [];
  url = '';

  constructor() {
    this.server = http.createServer((req, res) => {
      const chunks: Buffer[] = [];
      req.on('data', (c: Buffer) => chunks.push(c));
      req.on('end', () => {
        const body = Buffer.concat(chunks).toString('utf8');
        const r: Received = { headers: req.headers, body, json: JSON.parse(body), at: Date.now() };
        this.received.push(r);
        const answer = this.respond(r, this.received.length);
        this.pending++;
        res.on('close', () => this.pending--);
        const send = () => {
          if (res.destroyed) return;
          res.writeHead(answer.status, { 'content-type': 'text/plain', ...answer.headers });
          res.end(`answer ${answer.status}`, () => {
            r.answered = answer.status;
            for (const w of this.waiters.splice(0)) w();
          });
          for (const w of this.waiters.splice(0)) w();
        };
        if (answer.delayMs) setTimeout(send, answer.delayMs);
        else send();
      });
    });
  }

  async start(port = 0) {
    await new Promise<void>((resolve) => this.server.listen(port, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
    return this;
  }

  /** Resolves when `check` holds over what was received (re-checked on each request). */
  async until(check: (received: Received[]) => boolean, what: string, timeoutMs = 15_000) {
    const deadline = Date.now() + timeoutMs;
    while (!check(this.received)) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`timed out waiting for ${what} (received ${this.received.length})`);
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, Math.min(left, 200));
        this.waiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
  }

  async close() {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
