import { SingleBar } from 'cli-progress';

/**
 * One progress bar per phase (warm-up, a storm, a consistency check) on a terminal, and one
 * summary line per phase everywhere: cli-progress draws nothing when stderr is not a TTY
 * (CI, a test), so the summary is what a log keeps.
 */
export class PhaseProgress {
  private readonly startedAt = Date.now();

  private constructor(private readonly bar: SingleBar) {}

  /** `withRate` shows items per second: meaningful for writes, not for rounds of reads. */
  static start(phase: string, total: number, unit: string, withRate = true): PhaseProgress {
    const bar = new SingleBar({
      format: `${phase.padEnd(22)} |{bar}| {value}/{total} ${unit}${withRate ? ' | {rate}/s' : ''} | {duration_formatted}`,
      barCompleteChar: '█',
      barIncompleteChar: '░',
      hideCursor: true,
      clearOnComplete: true,
      etaBuffer: 50,
    });
    bar.start(total, 0, { rate: '0' });
    return new PhaseProgress(bar);
  }

  update(value: number): void {
    const seconds = (Date.now() - this.startedAt) / 1000;
    this.bar.update(value, { rate: seconds > 0 ? (value / seconds).toFixed(0) : '0' });
  }

  /** Removes the bar and prints what the phase did. */
  finish(summary: string): void {
    this.bar.stop();
    process.stdout.write(`${summary}\n`);
  }
}
