import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { browserFamily, unblockSteps } from '../../web/src/talk/blocked.js';
import { classify, sample } from '../../web/src/talk/network.js';

/** The talk page's pure parts: network quality from getStats values, and which browser's unblock steps to show. */
describe('network quality from getStats', () => {
  const pair = (rtt: number) => [
    { type: 'transport', id: 'T1', selectedCandidatePairId: 'CP1' },
    { type: 'candidate-pair', id: 'CP1', currentRoundTripTime: rtt, nominated: true, state: 'succeeded' },
    // Another pair, not in use, with a worse figure: must be ignored.
    { type: 'candidate-pair', id: 'CP2', currentRoundTripTime: 2, nominated: false, state: 'failed' },
  ];
  const inbound = (id: string, received: number, lost: number, jitter: number) => ({
    type: 'inbound-rtp',
    kind: 'audio',
    id,
    packetsReceived: received,
    packetsLost: lost,
    jitter,
  });

  test('the selected pair gives the round trip; loss is counted between samples, over all receivers; the worst jitter counts', () => {
    const first = sample([...pair(0.012), inbound('A', 1000, 0, 0.004), inbound('B', 500, 0, 0.002)], null);
    assert.deepEqual({ rtt: first.rttMs, loss: first.loss, jitter: first.jitterMs }, { rtt: 12, loss: 0, jitter: 4 });
    assert.equal(classify(first), 'good');
    // 100 more packets expected since: 95 arrived and 5 were lost: 5 % loss, fair.
    const second = sample([...pair(0.012), inbound('A', 1060, 3, 0.004), inbound('B', 535, 2, 0.002)], first);
    assert.equal(second.loss, 0.05);
    assert.equal(classify(second), 'fair');
    // Loss stops: the next sample is good again (the old loss does not stick).
    const third = sample([...pair(0.012), inbound('A', 1160, 3, 0.004), inbound('B', 635, 2, 0.002)], second);
    assert.equal(third.loss, 0);
    assert.equal(classify(third), 'good');
  });

  test('each measure alone can make it fair or poor; nothing measured is unknown', () => {
    assert.equal(classify({ rttMs: 300, loss: 0, jitterMs: 5 }), 'fair');
    assert.equal(classify({ rttMs: 800, loss: 0, jitterMs: 5 }), 'poor');
    assert.equal(classify({ rttMs: 20, loss: 0.1, jitterMs: 5 }), 'poor');
    assert.equal(classify({ rttMs: 20, loss: 0, jitterMs: 40 }), 'fair');
    assert.equal(classify({ rttMs: 20, loss: 0, jitterMs: 90 }), 'poor');
    assert.equal(classify({ rttMs: null, loss: null, jitterMs: null }), 'unknown');
  });

  test('a listener in a silent room (no audio received yet) still gets the round trip, from RTCP when the pair has none', () => {
    const s = sample([{ type: 'remote-inbound-rtp', id: 'R', roundTripTime: 0.6 }], null);
    assert.equal(s.rttMs, 600);
    assert.equal(s.loss, null);
    assert.equal(classify(s), 'poor');
  });
});

describe('blocked microphone: the steps for the browser in use', () => {
  const ua = {
    chrome: 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36',
    edge: 'Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36 Edg/131.0.0.0',
    firefox: 'Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0',
    safari: 'Mozilla/5.0 (Macintosh; Intel Mac OS X 14_5) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Safari/605.1.15',
    iphone: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.5 Mobile/15E148 Safari/604.1',
    chromeIos: 'Mozilla/5.0 (iPhone; CPU iPhone OS 17_5 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) CriOS/131.0 Mobile/15E148 Safari/604.1',
  };
  test('Chromium browsers, Firefox, Safari and iOS each get their own wording', () => {
    assert.equal(browserFamily(ua.chrome), 'chromium');
    assert.equal(browserFamily(ua.edge), 'chromium');
    assert.equal(browserFamily(ua.firefox), 'firefox');
    assert.equal(browserFamily(ua.safari), 'safari');
    assert.equal(browserFamily(ua.iphone), 'safari-ios');
    assert.equal(browserFamily(ua.chromeIos), 'safari-ios', 'every iOS browser is WebKit: its settings are Safari’s');
    assert.match(unblockSteps('chromium').join(' '), /address bar.*Microphone to "Allow"/s);
    assert.match(unblockSteps('firefox').join(' '), /Use the Microphone/);
    assert.match(unblockSteps('safari').join(' '), /Settings for This Website/);
    assert.match(unblockSteps('safari-ios').join(' '), /aA/);
  });
});
