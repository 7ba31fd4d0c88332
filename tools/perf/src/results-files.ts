import { mkdir, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { ChartRenderer } from './chart-renderer';
import { latencyChart, throughputChart } from './charts';
import { formatCsv } from './results-table';
import type { RunResults } from './storm-results';

/** Writes results.json, results.csv, latency.png and throughput.png into `outDir`; returns their paths. */
export async function writeResultFiles(outDir: string, results: RunResults): Promise<string[]> {
  await mkdir(outDir, { recursive: true });
  const renderer = new ChartRenderer();
  const files: Array<[string, string | Buffer]> = [
    ['results.json', JSON.stringify(results, null, 2) + '\n'],
    ['results.csv', formatCsv(results.measurements)],
    ['latency.png', renderer.render(latencyChart(results))],
    ['throughput.png', renderer.render(throughputChart(results))],
  ];
  const written: string[] = [];
  for (const [name, content] of files) {
    const file = path.join(outDir, name);
    await writeFile(file, content);
    written.push(file);
  }
  return written;
}
