import { createCanvas, GlobalFonts } from '@napi-rs/canvas';
import type { ChartConfiguration } from 'chart.js';
import { CHART_FONT_FAMILY, CHART_HEIGHT, CHART_WIDTH, ChartRenderer } from './chart-renderer';

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

function pngSize(png: Buffer): { width: number; height: number } {
  return { width: png.readUInt32BE(16), height: png.readUInt32BE(20) };
}

const chart = (title: string): ChartConfiguration<'line'> => ({
  type: 'line',
  data: { labels: ['1', '2', '3'], datasets: [{ label: 'mean', data: [1, 2, 3], borderColor: '#1f77b4' }] },
  options: { animation: false, plugins: { title: { display: title !== '', text: title } } },
});

describe('ChartRenderer', () => {
  it('renders a PNG of the chart size synchronously', () => {
    const png = new ChartRenderer().render(chart('write latency'));
    expect(png.subarray(0, 8)).toEqual(PNG_SIGNATURE);
    expect(pngSize(png)).toEqual({ width: CHART_WIDTH, height: CHART_HEIGHT });
  });

  it('draws text with the font it ships, needing no system font', () => {
    new ChartRenderer();
    expect(GlobalFonts.has(CHART_FONT_FAMILY)).toBe(true);
    // Text in the registered family must put ink on the canvas.
    const canvas = createCanvas(200, 40);
    const context = canvas.getContext('2d');
    context.fillStyle = 'white';
    context.fillRect(0, 0, 200, 40);
    context.fillStyle = 'black';
    context.font = `20px '${CHART_FONT_FAMILY}'`;
    context.fillText('quorum 3', 5, 28);
    const { data } = context.getImageData(0, 0, 200, 40);
    let inked = 0;
    for (let i = 0; i < data.length; i += 4) if (data[i] < 128) inked++;
    expect(inked).toBeGreaterThan(100);
  });

  it('puts the title on the chart (a chart with a title differs from one without)', () => {
    const renderer = new ChartRenderer();
    expect(renderer.render(chart('write latency')).equals(renderer.render(chart('')))).toBe(false);
  });
});
