import { ChartJSNodeCanvas } from 'chartjs-node-canvas';
import type { ChartConfiguration } from 'chart.js';

export const CHART_WIDTH = 1200;
export const CHART_HEIGHT = 650;

/**
 * Renders chart configurations to PNG on a white background. Chart.js's default fonts
 * (Helvetica, Arial) are usually absent on a server; DejaVu Sans is the one this tool asks for.
 */
export class ChartRenderer {
  private readonly canvas = new ChartJSNodeCanvas({
    width: CHART_WIDTH,
    height: CHART_HEIGHT,
    backgroundColour: 'white',
    chartCallback: (chartJs) => {
      chartJs.defaults.font.family = "'DejaVu Sans', sans-serif";
      chartJs.defaults.color = '#222222';
    },
  });

  render<C extends ChartConfiguration>(configuration: C): Promise<Buffer> {
    return this.canvas.renderToBuffer(configuration, 'image/png');
  }
}
