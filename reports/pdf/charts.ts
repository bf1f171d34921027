import { COLOR, FONT, type PdfLayout } from './layout.js';

/** A whole, round grid step (1, 2 or 5 times a power of ten, at least 1) so that `ticks` steps reach `max`. */
export function niceStep(max: number, ticks: number): number {
  const raw = Math.max(1, max / ticks);
  const p = 10 ** Math.floor(Math.log10(raw));
  for (const m of [1, 2, 5, 10]) if (m * p >= raw) return m * p;
  return 10 * p;
}

function fmt(n: number): string {
  return n >= 1_000_000 ? `${(n / 1_000_000).toFixed(n % 1_000_000 ? 1 : 0)}M` : n >= 10_000 ? `${Math.round(n / 1000)}k` : n.toLocaleString('en-US');
}

export interface Series {
  name: string;
  color: string;
  values: number[];
}

/** Vertical stacked bars, one per category (a day), drawn with vector primitives; a legend below. */
export function stackedBarChart(layout: PdfLayout, categories: string[], series: Series[], opts: { height?: number; title: string }): void {
  const { doc } = layout;
  const height = opts.height ?? 150;
  const axisW = 40;
  const labelH = 26;
  layout.ensure(height + labelH + 40);
  layout.space(6);
  layout.text(opts.title, { size: 9, font: FONT.bold, gapAfter: 4 });
  const top = layout.y;
  const x0 = layout.left + axisW;
  const plotW = layout.width - axisW;
  const totals = categories.map((_, i) => series.reduce((n, s) => n + (s.values[i] ?? 0), 0));
  const step = niceStep(Math.max(0, ...totals), 4);
  const max = step * 4;
  // Grid and axis labels.
  for (let k = 0; k <= 4; k++) {
    const y = top + height - (height * k) / 4;
    doc.moveTo(x0, y).lineTo(x0 + plotW, y).lineWidth(0.3).strokeColor(COLOR.rule).stroke();
    const label = fmt(step * k);
    const w = doc.font(FONT.regular).fontSize(7).widthOfString(label);
    doc.fillColor(COLOR.muted).text(label, x0 - 4 - w, y - 3, { lineBreak: false });
  }
  const n = Math.max(categories.length, 1);
  const slot = plotW / n;
  const barW = Math.max(0.8, slot * 0.75);
  categories.forEach((_, i) => {
    let y = top + height;
    for (const s of series) {
      const v = s.values[i] ?? 0;
      if (v <= 0) continue;
      const h = (v / max) * height;
      doc.rect(x0 + i * slot + (slot - barW) / 2, y - h, barW, h).fill(s.color);
      y -= h;
    }
  });
  // Category labels: as many as fit without overlapping.
  const every = Math.max(1, Math.ceil((n * 30) / plotW));
  categories.forEach((c, i) => {
    if (i % every !== 0) return;
    const w = doc.font(FONT.regular).fontSize(6.5).widthOfString(c);
    const x = Math.min(Math.max(x0 + i * slot + slot / 2 - w / 2, x0), x0 + plotW - w);
    doc.fillColor(COLOR.muted).text(c, x, top + height + 3, { lineBreak: false });
  });
  layout.y = top + height + 14;
  // Legend.
  let lx = x0;
  for (const s of series) {
    const total = s.values.reduce((a, b) => a + b, 0);
    const label = `${s.name} (${total.toLocaleString('en-US')})`;
    doc.rect(lx, layout.y + 1, 8, 8).fill(s.color);
    doc.font(FONT.regular).fontSize(7.5).fillColor(COLOR.text).text(label, lx + 11, layout.y + 1, { lineBreak: false });
    lx += 11 + doc.widthOfString(label) + 14;
  }
  layout.y += 20;
}

/** Horizontal bars with wrapped labels (long paths stay inside their column) and the value at the bar's end. */
export function horizontalBarChart(layout: PdfLayout, items: { label: string; value: number }[], opts: { title: string; color?: string }): void {
  const { doc } = layout;
  const labelW = layout.width * 0.45;
  const valueW = 50;
  const barMaxW = layout.width - labelW - valueW - 8;
  const size = 7.5;
  const lh = layout.lineHeight(size);
  layout.ensure(60);
  layout.space(6);
  layout.text(opts.title, { size: 9, font: FONT.bold, gapAfter: 4 });
  const max = Math.max(1, ...items.map((i) => i.value));
  for (const item of items) {
    const lines = layout.wrap(item.label, labelW - 6, FONT.regular, size).slice(0, 3);
    const h = Math.max(lines.length * lh, 11) + 3;
    layout.ensure(h);
    lines.forEach((line, k) => doc.font(FONT.regular).fontSize(size).fillColor(COLOR.text).text(line, layout.left, layout.y + k * lh, { lineBreak: false }));
    const w = Math.max(0.5, (item.value / max) * barMaxW);
    doc.rect(layout.left + labelW, layout.y + 1, w, 8).fill(opts.color ?? COLOR.accent);
    doc.font(FONT.regular).fontSize(size).fillColor(COLOR.muted).text(item.value.toLocaleString('en-US'), layout.left + labelW + w + 4, layout.y + 1, { lineBreak: false });
    layout.y += h;
  }
  layout.y += 8;
}
