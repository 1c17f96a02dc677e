import http from 'node:http';
import net from 'node:net';

/**
 * A real reverse-proxy hop for the tests: forwards HTTP and WebSocket upgrades to `target`,
 * appending the client's own address to X-Forwarded-For as nginx's $proxy_add_x_forwarded_for does
 * (whatever the client wrote there stays in front of it).
 */
export async function startProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const to = new URL(target);
  const forwarded = (req: http.IncomingMessage) => {
    const sent = req.headers['x-forwarded-for'];
    return { ...req.headers, 'x-forwarded-for': sent ? `${sent}, ${req.socket.remoteAddress}` : String(req.socket.remoteAddress) };
  };
  const server = http.createServer((req, res) => {
    const upstream = http.request({ host: to.hostname, port: to.port, method: req.method, path: req.url, headers: forwarded(req) }, (r) => {
      res.writeHead(r.statusCode ?? 502, r.headers);
      r.pipe(res);
    });
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  // Upgraded sockets leave the HTTP server's bookkeeping: close() ends them itself.
  const tunnels = new Set<net.Socket>();
  server.on('upgrade', (req, socket, head) => {
    const upstream = net.connect(Number(to.port), to.hostname, () => {
      const lines = [`${req.method} ${req.url} HTTP/1.1`];
      for (const [k, v] of Object.entries(forwarded(req))) for (const one of [v].flat()) if (one !== undefined) lines.push(`${k}: ${one}`);
      upstream.write(`${lines.join('\r\n')}\r\n\r\n`);
      upstream.write(head);
      upstream.pipe(socket);
      socket.pipe(upstream);
    });
    upstream.on('error', () => socket.destroy());
    socket.on('error', () => upstream.destroy());
    for (const s of [upstream, socket as net.Socket]) {
      tunnels.add(s);
      s.on('close', () => tunnels.delete(s));
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as net.AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        for (const s of tunnels) s.destroy();
        server.close(() => resolve());
      }),
  };
}

/** POSTs JSON from a chosen local address (any of 127.0.0.0/8 on this machine), so one test can be many clients. */
export function postFrom(
  url: string,
  body: unknown,
  options: { localAddress?: string; headers?: Record<string, string> } = {},
): Promise<{ status: number; headers: http.IncomingHttpHeaders; body: any }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      url,
      { method: 'POST', agent: false, localAddress: options.localAddress, headers: { 'content-type': 'application/json', ...options.headers } },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (c) => {
          text += c;
        });
        res.on('end', () => resolve({ status: res.statusCode ?? 0, headers: res.headers, body: text ? JSON.parse(text) : null }));
      },
    );
    req.on('error', reject);
    req.end(JSON.stringify(body));
  });
}
