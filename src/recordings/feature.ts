import path from 'node:path';
import type { Config } from '../platform/config.js';
import type { Feature } from '../platform/feature.js';
import type { App } from '../platform/http.js';
import { notFound } from '../platform/errors.js';
import type { LiveTalks } from '../rooms/live.js';
import type { TalksService } from '../talks/service.js';
import { createEngine } from '../transcription/engine.js';
import { toSrt, toTxt, toVtt } from '../transcription/formats.js';
import { Transcriber } from './transcriber.js';
import { type RecorderDeps, Recorder, TRANSCRIBE_JOB } from './recorder.js';
import { S3Storage } from './s3-storage.js';
import type { RecordingsService } from './service.js';
import { LocalStorage, type RecordingStorage } from './storage.js';
import type { TranscriptionJson } from '../transcription/schema.js';
import { getTranscriptSchema, transcriptFormats, transcriptMediaTypes } from './schemas.js';

/** Where recordings are kept: this node's disk (DATA_DIR/recordings), or S3 with STORAGE=s3. */
export function recordingStorage(config: Config): RecordingStorage {
  if (config.STORAGE !== 's3') return new LocalStorage(path.join(config.DATA_DIR, 'recordings'));
  return new S3Storage({
    bucket: config.S3_BUCKET as string,
    region: config.S3_REGION,
    endpoint: config.S3_ENDPOINT,
    accessKeyId: config.S3_ACCESS_KEY_ID,
    secretAccessKey: config.S3_SECRET_ACCESS_KEY,
    stagingDir: path.join(config.DATA_DIR, 'recordings-staging'),
  });
}

export interface RecordingDeps extends RecorderDeps {
  talks: TalksService;
  live: LiveTalks;
}

/**
 * Recording and transcription: the recorder observes the live room, the transcription job runs on
 * the queue, and the transcript export routes join the partner API. (The recordings themselves,
 * RecordingsService, are a core service the partner API reads; the root builds it on
 * recordingStorage.)
 */
export function createRecording(services: RecordingDeps): Feature {
  const { config, live } = services;
  const recorder = new Recorder(services, live, config.RECORDING_LEASE_SECONDS * 1000);
  const engine = createEngine(config);
  const transcriber = engine ? new Transcriber(services, engine) : null;
  // This node's own queue (local storage) and the shared one (S3; and jobs queued before queues were per node).
  const queues = [...new Set([recorder.transcribeQueue, TRANSCRIBE_JOB])];
  const background: Feature['background'] = [];
  background.push({
    name: 'recorder',
    start: async () => {
      if (config.dbKind === 'postgres' && config.STORAGE === 'local') {
        services.log.warn(
          { component: 'recorder', node: recorder.node },
          "recordings are on this node's local disk while the database is shared: if this node dies, its unfinished recordings wait for it to restart with the same DATA_DIR (so do they with STORAGE=s3, whose tracks reach the bucket when a recording is finished; there any node serves downloads and transcribes)",
        );
      }
      live.addObserver(recorder);
      await recorder.recover();
      recorder.startLease();
    },
    stop: () => recorder.stop(),
  });
  if (transcriber) {
    background.push({
      name: 'transcriber',
      start: async () => {
        // Polled every 5 s (a poll every 0.5 s was about 8 ms of CPU a second on an idle embedded
        // server); a job this node queues starts at once.
        const log = services.log.child({ component: 'transcriber' });
        const workerIds: string[] = [];
        for (const queue of queues) {
          workerIds.push(
            await services.queue.work<{ partnerId: string; recordingId: string }>(queue, { pollingIntervalSeconds: 5 }, async (job) => {
              try {
                await transcriber.transcribeRecording(job.data.partnerId, job.data.recordingId);
              } catch (err) {
                // pg-boss retries it; the log says why each attempt failed.
                log.error({ err, recordingId: job.data.recordingId }, 'transcribing a recording failed');
                throw err;
              }
            }),
          );
        }
        const workerId = workerIds[0];
        recorder.onTranscriptionQueued = () => services.queue.boss.notifyWorker(workerId);
      },
      stop: async () => {
        for (const queue of queues) await services.queue.boss.offWork(queue).catch(() => {});
        await engine?.close?.();
      },
    });
  }
  const { recordings } = services;
  return { name: 'recording', queues, background, partnerRoutes: (app) => transcriptRoutes(app, recordings) };
}

const render: Record<(typeof transcriptFormats)[number], { type: string; body: (t: TranscriptionJson) => string } | null> = {
  json: null,
  vtt: { type: `${transcriptMediaTypes.vtt}; charset=utf-8`, body: toVtt },
  srt: { type: `${transcriptMediaTypes.srt}; charset=utf-8`, body: toSrt },
  txt: { type: `${transcriptMediaTypes.txt}; charset=utf-8`, body: toTxt },
};

async function transcriptRoutes(app: App, recordings: RecordingsService) {
  for (const format of transcriptFormats) {
    app.get(`/api/v1/partners/recordings/:id/transcript.${format}`, { schema: getTranscriptSchema(format) }, async (request, reply) => {
      const rec = await recordings.get(request.partner.partnerId, (request.params as { id: string }).id);
      const transcript = rec.transcription as TranscriptionJson | null;
      if (!transcript) throw notFound('transcript (not ready yet)');
      const as = render[format];
      if (!as) return { transcript, error: null };
      return reply.type(as.type).send(as.body(transcript));
    });
  }
}
