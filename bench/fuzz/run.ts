import os from 'node:os';
import v8 from 'node:v8';
import vm from 'node:vm';
import { startApp } from '../../test/support/app.js';
import { fuzz } from '../../test/fuzz/fuzzer.js';
import { fuzzEnv, fuzzTarget, startQueue } from '../../test/fuzz/target.js';

/**
 * The long fuzz run: `npm run bench:fuzz` (FUZZ_REQUESTS, default 100,000; FUZZ_SEED to replay;
 * FUZZ_CONCURRENCY, default 8; FUZZ_TIMEOUT_MS, default 15,000, a request's time before it counts as unanswered; TEST_DB=postgres with TEST_DATABASE_URL for Postgres). The app runs
 * in this process, as in the test; prints the figures for docs/benchmarks.md and exits 1 on any
 * problem (a 5xx, a 4xx outside the envelope, another partner's id in an answer).
 */
v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;
const heapMb = () => {
  gc();
  return process.memoryUsage().heapUsed / 1024 / 1024;
};
const rssMb = () => process.memoryUsage().rss / 1024 / 1024;

const requests = Number(process.env.FUZZ_REQUESTS ?? 100_000);
const seed = Number(process.env.FUZZ_SEED ?? Math.floor(Math.random() * 2 ** 31));
const t = await startApp({ background: false, env: fuzzEnv });
await startQueue(t);
const start = { heap: heapMb(), rss: rssMb() };
console.log(`fuzz seed ${seed}, ${requests} requests, database ${t.config.dbKind}, heap ${start.heap.toFixed(1)} MB, rss ${start.rss.toFixed(0)} MB at start`);
const samples: { done: number; heap: number; rss: number; rate: number }[] = [];
const started = performance.now();
try {
  const report = await fuzz({
    url: t.url,
    seed,
    requests,
    concurrency: Number(process.env.FUZZ_CONCURRENCY ?? 8),
    // On a machine shared at load 30-50, password hashing (sign-up, login, reset) took over 15 s.
    timeoutMs: Number(process.env.FUZZ_TIMEOUT_MS ?? 15_000),
    identities: () => fuzzTarget(t),
    every: Math.max(500, Math.floor(requests / 50)),
    onProgress: (done, sofar) => {
      const sample = { done, heap: heapMb(), rss: rssMb(), rate: done / ((performance.now() - started) / 1000) };
      samples.push(sample);
      // The figures so far on every line: a run stopped early still leaves them.
      const statuses = Object.entries(sofar.byStatus)
        .map(([status, n]) => `${status}×${n}`)
        .join(' ');
      console.log(
        `${done} requests, ${sample.rate.toFixed(0)} req/s, heap ${sample.heap.toFixed(1)} MB, rss ${sample.rss.toFixed(0)} MB, ${Math.round((performance.now() - started) / 1000)} s, load ${os.loadavg()[0].toFixed(1)}; ${statuses}; ${sofar.problems.length} problems`,
      );
    },
    onProblem: (p) => console.log(`PROBLEM (as found) ${p.problem}\n  ${p.request}`),
  });
  const heaps = samples.map((s) => s.heap);
  console.log(
    JSON.stringify(
      {
        seed,
        requests: report.requests,
        operations: report.operations,
        seconds: Math.round(report.elapsedMs / 1000),
        requests_per_second: Math.round(report.requests / (report.elapsedMs / 1000)),
        by_status: report.byStatus,
        by_code: report.byCode,
        problems: report.problems.length,
        credentials_renewed: report.reprovisioned,
        heap_mb: { start: start.heap.toFixed(1), after_first_sample: heaps[0]?.toFixed(1), max: Math.max(...heaps).toFixed(1), end: heapMb().toFixed(1) },
        rss_mb: { start: start.rss.toFixed(0), end: rssMb().toFixed(0) },
        load_average: os.loadavg().map((l) => l.toFixed(2)),
      },
      null,
      2,
    ),
  );
  for (const p of report.problems.slice(0, 50)) console.log(`PROBLEM ${p.problem}\n  ${p.request}`);
  process.exitCode = report.problems.length > 0 ? 1 : 0;
} finally {
  await t.close();
}
