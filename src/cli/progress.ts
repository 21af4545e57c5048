import cliProgress from 'cli-progress';

export interface Progress {
  /** `done` out of `total`; `fields` are shown in the bar (loss, windows/s, ...). */
  update(done: number, fields?: Record<string, number | string>): void;
  stop(): void;
}

export interface ProgressOptions {
  /** Force JSON-lines mode (e.g. `--json`). */
  json?: boolean;
  /** Minimum ms between JSON lines. */
  intervalMs?: number;
  /** Field names shown in the bar, in order. */
  fields?: string[];
}

function fmt(v: number | string): string {
  if (typeof v === 'string') return v;
  if (!Number.isFinite(v)) return String(v);
  const a = Math.abs(v);
  return a !== 0 && (a < 1e-3 || a >= 1e5) ? v.toExponential(2) : a >= 100 ? v.toFixed(0) : v.toPrecision(3);
}

/**
 * A progress bar on a terminal; JSON lines on stderr otherwise (stdout is not a TTY, or --json),
 * so that logs of long runs are machine-readable and `--json` results on stdout stay clean.
 */
export function createProgress(label: string, total: number, opts: ProgressOptions = {}): Progress {
  const tty = process.stdout.isTTY === true && process.stderr.isTTY === true && !opts.json;
  const started = Date.now();
  if (tty) {
    const fieldFmt = (opts.fields ?? []).map((f) => `${f} {${f}}`).join(' | ');
    const bar = new cliProgress.SingleBar({
      format: `${label} [{bar}] {percentage}% {value}/{total}${fieldFmt ? ' | ' + fieldFmt : ''} | ETA {eta_formatted}`,
      hideCursor: true, etaBuffer: 50, stream: process.stderr,
    }, cliProgress.Presets.shades_classic);
    const blank = Object.fromEntries((opts.fields ?? []).map((f) => [f, '-']));
    bar.start(total, 0, blank);
    return {
      update(done, fields) {
        const shown: Record<string, string> = {};
        for (const [k, v] of Object.entries(fields ?? {})) shown[k] = fmt(v);
        bar.update(done, shown);
      },
      stop() { bar.stop(); },
    };
  }
  const interval = opts.intervalMs ?? 2000;
  let last = 0;
  let lastDone = 0;
  const line = (done: number, fields?: Record<string, number | string>): void => {
    const elapsedS = (Date.now() - started) / 1000;
    const etaS = done > 0 ? Math.round((elapsedS / done) * (total - done)) : null;
    process.stderr.write(JSON.stringify({ progress: label, done, total, elapsedS: Math.round(elapsedS * 10) / 10, etaS, ...fields }) + '\n');
  };
  return {
    update(done, fields) {
      lastDone = done;
      const now = Date.now();
      if (now - last >= interval || done >= total) { last = now; line(done, fields); }
    },
    stop() { if (lastDone < total) line(lastDone); },
  };
}
