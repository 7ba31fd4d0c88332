import { createRequire } from 'node:module';
import path from 'node:path';
import { ChartJSNodeCanvas } from 'chartjs-node-canvas';
import { GlobalFonts } from '@napi-rs/canvas';
import type { ChartConfiguration } from 'chart.js';

export const CHART_WIDTH = 1200;
export const CHART_HEIGHT = 650;

/** The family the charts ask for; registered from the npm package, so no system font is needed. */
export const CHART_FONT_FAMILY = 'DejaVu Sans';

/**
 * Registers DejaVu Sans from the `dejavu-fonts-ttf` package once. A bare machine (Node and
 * npm only, or a slim container) has no fonts at all, and Skia then draws no text.
 */
function registerChartFont(): void {
  if (GlobalFonts.has(CHART_FONT_FAMILY)) return;
  const fontsPackage = path.dirname(createRequire(__filename).resolve('dejavu-fonts-ttf/package.json'));
  GlobalFonts.registerFromPath(path.join(fontsPackage, 'ttf', 'DejaVuSans.ttf'), CHART_FONT_FAMILY);
  GlobalFonts.registerFromPath(path.join(fontsPackage, 'ttf', 'DejaVuSans-Bold.ttf'), CHART_FONT_FAMILY);
}

/**
 * Renders chart configurations to PNG on a white background.
 *
 * chartjs-node-canvas draws on whatever module is installed as `canvas`; package.json's
 * `overrides` puts `@napi-rs/canvas` (Skia, prebuilt binaries inside npm platform packages,
 * no compiler and no install script) there. Its `toBuffer` has no callback form, so the
 * charts are rendered with `renderToBufferSync`: the async `renderToBuffer` never settles.
 */
export class ChartRenderer {
  private readonly canvas: ChartJSNodeCanvas;

  constructor() {
    registerChartFont();
    this.canvas = new ChartJSNodeCanvas({
      width: CHART_WIDTH,
      height: CHART_HEIGHT,
      backgroundColour: 'white',
      chartCallback: (chartJs) => {
        chartJs.defaults.font.family = `'${CHART_FONT_FAMILY}', sans-serif`;
        chartJs.defaults.color = '#222222';
      },
    });
  }

  render<C extends ChartConfiguration>(configuration: C): Buffer {
    return this.canvas.renderToBufferSync(configuration, 'image/png');
  }
}
