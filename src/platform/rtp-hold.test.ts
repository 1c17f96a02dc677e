import assert from 'node:assert/strict';
import dgram from 'node:dgram';
import { test } from 'node:test';
import { RtpHold } from './media.js';

/** A receiver on a free loopback port, collecting the first byte (a counter) of each datagram. */
async function receiver(): Promise<{ port: number; got: number[]; close: () => void }> {
  const socket = dgram.createSocket('udp4');
  const got: number[] = [];
  socket.on('message', (m) => got.push(m.readUInt16BE(0)));
  await new Promise<void>((resolve) => socket.bind(0, '127.0.0.1', () => resolve()));
  return { port: socket.address().port, got, close: () => socket.close() };
}

function packet(n: number): Buffer {
  const b = Buffer.alloc(120);
  b.writeUInt16BE(n, 0);
  return b;
}

/**
 * Sends packet `n`; every tenth, lets the event loop read its sockets (a send's callback alone never
 * does, and the hold and the receiver live in this process: their socket buffers would overflow,
 * which a tap in another thread does not do to them).
 */
async function sendPaced(sender: dgram.Socket, port: number, n: number): Promise<void> {
  await new Promise<void>((resolve) => sender.send(packet(n), port, '127.0.0.1', () => resolve()));
  if (n % 10 === 9) await new Promise((r) => setImmediate(r));
}

async function until(check: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

test('a hold keeps what is sent before the receiver listens, then passes it on in order, then everything after', async () => {
  const hold = await RtpHold.open();
  const sender = dgram.createSocket('udp4');
  const send = (n: number) => sendPaced(sender, hold.port, n);
  const rx = await receiver();
  try {
    // 800 packets (16 s of 20-ms audio) before anyone listens: more than a socket buffer takes in one burst.
    for (let n = 0; n < 800; n++) await send(n);
    await new Promise((r) => setTimeout(r, 50));
    assert.deepEqual(rx.got, [], 'nothing passes before release');
    hold.release(rx.port);
    await until(() => hold.passing, 'held packets flushed');
    for (let n = 800; n < 850; n++) await send(n);
    await until(() => rx.got.length >= 850, `all 850 packets through (got ${rx.got.length})`);
    assert.deepEqual(
      rx.got,
      Array.from({ length: 850 }, (_, n) => n),
      'every packet, in order',
    );
    assert.equal(hold.dropped, 0);
  } finally {
    hold.close();
    sender.close();
    rx.close();
  }
});

test('a hold keeps at most MAX_HELD packets, dropping the oldest', async () => {
  const hold = await RtpHold.open();
  const sender = dgram.createSocket('udp4');
  const rx = await receiver();
  const total = RtpHold.MAX_HELD + 100;
  try {
    for (let n = 0; n < total; n++) await sendPaced(sender, hold.port, n);
    await until(() => hold.dropped === 100, `100 dropped (dropped ${hold.dropped})`);
    hold.release(rx.port);
    await until(() => rx.got.length >= RtpHold.MAX_HELD, `the newest ${RtpHold.MAX_HELD} through (got ${rx.got.length})`);
    assert.equal(rx.got[0], 100, 'the oldest were dropped');
    assert.equal(rx.got.at(-1), total - 1);
  } finally {
    hold.close();
    sender.close();
    rx.close();
  }
});
