import PDFDocument from 'pdfkit';

/**
 * A small page-layout layer over pdfkit that keeps its own cursor and draws every line at an explicit
 * position (lineBreak off), so nothing ever flows past a column or a page edge behind our back. Text is
 * wrapped here, at spaces and after '/', '-', '_', '.' or ',' (paths, ids), and broken inside a word
 * only when a single word is wider than its column.
 */
export const FONT = { regular: 'Helvetica', bold: 'Helvetica-Bold', italic: 'Helvetica-Oblique', mono: 'Courier' } as const;
export type FontName = (typeof FONT)[keyof typeof FONT];

export const COLOR = {
  text: '#1a202c',
  muted: '#4a5568',
  rule: '#cbd5e0',
  headerBg: '#2d3748',
  zebra: '#f4f6f8',
  pass: '#276749',
  fail: '#c53030',
  manual: '#975a16',
  accent: '#2b6cb0',
} as const;

export interface Column {
  header: string;
  /** Share of the table width (the shares are normalised). */
  width: number;
  align?: 'left' | 'right';
  font?: FontName;
}

export interface Cell {
  text: string;
  color?: string;
  font?: FontName;
}

export interface TableOptions {
  fontSize?: number;
  /** Lines a cell may take before it is cut with an ellipsis (the CSV has the full value). */
  maxLines?: number;
}

export interface DocumentMeta {
  title: string;
  subject: string;
  /** Fixed creation time: with it, the same content gives the same bytes. */
  createdAt: Date;
  /** Running header text (the period). */
  runningHeader: string;
}

const PAGE = { size: 'A4' as const, margin: 50, top: 62, bottom: 58 };

export class PdfLayout {
  readonly doc: PDFKit.PDFDocument;
  readonly left = PAGE.margin;
  readonly width: number;
  readonly #bottom: number;
  readonly #meta: DocumentMeta;
  readonly #chunks: Buffer[] = [];
  y: number;

  constructor(meta: DocumentMeta) {
    this.#meta = meta;
    this.doc = new PDFDocument({
      size: PAGE.size,
      margins: { top: PAGE.top, bottom: PAGE.bottom, left: PAGE.margin, right: PAGE.margin },
      bufferPages: true,
      compress: true,
      info: {
        Title: meta.title,
        Subject: meta.subject,
        Author: 'keytrail',
        Creator: 'keytrail',
        Producer: 'keytrail (pdfkit)',
        CreationDate: meta.createdAt,
        ModDate: meta.createdAt,
      },
    });
    this.doc.on('data', (c: Buffer) => this.#chunks.push(c));
    this.width = this.doc.page.width - 2 * PAGE.margin;
    this.#bottom = this.doc.page.height - PAGE.bottom;
    this.y = PAGE.top;
  }

  get bottom(): number {
    return this.#bottom;
  }

  newPage(): void {
    this.doc.addPage();
    this.y = PAGE.top;
  }

  /** Starts a new page unless `height` still fits below the cursor. */
  ensure(height: number): void {
    if (this.y + height > this.#bottom) this.newPage();
  }

  space(points: number): void {
    this.y += points;
  }

  lineHeight(size: number): number {
    return size * 1.25;
  }

  /** Splits text into lines no wider than `width` at the given font and size. */
  wrap(text: string, width: number, font: FontName, size: number): string[] {
    const doc = this.doc.font(font).fontSize(size);
    const out: string[] = [];
    for (const paragraph of text.split('\n')) {
      const pieces = paragraph.match(/[^\s/\-_.,]*(?:[\s/\-_.,]+|$)/g)?.filter((p) => p.length > 0) ?? [];
      let line = '';
      for (const piece of pieces) {
        if (doc.widthOfString(line + piece.trimEnd()) <= width) {
          line += piece;
          continue;
        }
        if (line.trim()) out.push(line.trimEnd());
        line = '';
        let rest = piece;
        // A single piece wider than the column: break it by characters.
        while (doc.widthOfString(rest.trimEnd()) > width) {
          let n = rest.length - 1;
          while (n > 1 && doc.widthOfString(rest.slice(0, n)) > width) n--;
          out.push(rest.slice(0, n));
          rest = rest.slice(n);
        }
        line = rest;
      }
      out.push(line.trimEnd());
    }
    return out;
  }

  /** Draws wrapped text at the cursor across the full width (or `opts.width` from `opts.x`), page-breaking as needed. */
  text(
    text: string,
    opts: { size?: number; font?: FontName; color?: string; x?: number; width?: number; gapAfter?: number } = {},
  ): void {
    const size = opts.size ?? 9.5;
    const font = opts.font ?? FONT.regular;
    const x = opts.x ?? this.left;
    const width = opts.width ?? this.left + this.width - x;
    const lh = this.lineHeight(size);
    for (const line of this.wrap(text, width, font, size)) {
      this.ensure(lh);
      this.doc.font(font).fontSize(size).fillColor(opts.color ?? COLOR.text).text(line, x, this.y, { lineBreak: false });
      this.y += lh;
    }
    this.y += opts.gapAfter ?? 3;
  }

  heading(text: string, level: 1 | 2 | 3 = 1): void {
    const size = level === 1 ? 16 : level === 2 ? 12 : 10.5;
    this.ensure(size * 3 + 40);
    if (level === 1) this.space(4);
    this.text(text, { size, font: FONT.bold, color: level === 1 ? COLOR.headerBg : COLOR.text, gapAfter: level === 1 ? 2 : 2 });
    if (level === 1) {
      this.doc.moveTo(this.left, this.y).lineTo(this.left + this.width, this.y).lineWidth(1).strokeColor(COLOR.accent).stroke();
      this.space(8);
    }
  }

  /** Label/value lines (the value wrapped in its own column). */
  keyValues(pairs: [string, string][], opts: { labelWidth?: number; size?: number; monoValues?: boolean } = {}): void {
    const size = opts.size ?? 9.5;
    const labelWidth = opts.labelWidth ?? 150;
    const lh = this.lineHeight(size);
    for (const [label, value] of pairs) {
      const mono = opts.monoValues && /^[0-9a-f:]{16,}$/i.test(value);
      const font = mono ? FONT.mono : FONT.regular;
      const valueSize = mono ? size - 1.5 : size;
      const lines = this.wrap(value, this.width - labelWidth, font, valueSize);
      this.ensure(lh * Math.min(lines.length, 3));
      this.doc.font(FONT.bold).fontSize(size).fillColor(COLOR.muted).text(label, this.left, this.y, { lineBreak: false });
      for (const line of lines) {
        this.ensure(lh);
        this.doc.font(font).fontSize(valueSize).fillColor(COLOR.text).text(line, this.left + labelWidth, this.y + (size - valueSize) / 2, { lineBreak: false });
        this.y += lh;
      }
      this.y += 1.5;
    }
    this.y += 4;
  }

  /**
   * A table whose cells wrap inside their columns; the header row repeats on every page the table spans and a
   * row is never split across pages.
   */
  table(columns: Column[], rows: (string | Cell)[][], opts: TableOptions = {}): void {
    const size = opts.fontSize ?? 7.5;
    const maxLines = opts.maxLines ?? 10;
    const pad = 3;
    const lh = this.lineHeight(size);
    const total = columns.reduce((n, c) => n + c.width, 0);
    const widths = columns.map((c) => (c.width / total) * this.width);
    const xs = widths.map((_, i) => this.left + widths.slice(0, i).reduce((n, w) => n + w, 0));
    const headerLines = columns.map((c, i) => this.wrap(c.header, widths[i]! - 2 * pad, FONT.bold, size));
    const headerHeight = Math.max(...headerLines.map((l) => l.length)) * lh + 2 * pad;

    const drawHeader = () => {
      this.doc.rect(this.left, this.y, this.width, headerHeight).fill(COLOR.headerBg);
      headerLines.forEach((lines, i) => {
        lines.forEach((line, k) => {
          const x = columns[i]!.align === 'right' ? xs[i]! + widths[i]! - pad - this.doc.font(FONT.bold).fontSize(size).widthOfString(line) : xs[i]! + pad;
          this.doc.font(FONT.bold).fontSize(size).fillColor('#ffffff').text(line, x, this.y + pad + k * lh, { lineBreak: false });
        });
      });
      this.y += headerHeight;
    };

    this.ensure(headerHeight + lh + 2 * pad);
    drawHeader();
    rows.forEach((row, r) => {
      const cells = row.map((c) => (typeof c === 'string' ? { text: c } : c));
      const wrapped = cells.map((c, i) => {
        const font = c.font ?? columns[i]!.font ?? FONT.regular;
        let lines = this.wrap(c.text, widths[i]! - 2 * pad, font, size);
        if (lines.length > maxLines) lines = [...lines.slice(0, maxLines - 1), `${lines[maxLines - 1]!.slice(0, -1)}…`];
        return { lines, font, color: c.color ?? COLOR.text };
      });
      const height = Math.max(1, ...wrapped.map((w) => w.lines.length)) * lh + 2 * pad;
      if (this.y + height > this.#bottom) {
        this.newPage();
        drawHeader();
      }
      if (r % 2 === 1) this.doc.rect(this.left, this.y, this.width, height).fill(COLOR.zebra);
      wrapped.forEach((w, i) => {
        w.lines.forEach((line, k) => {
          const doc = this.doc.font(w.font).fontSize(size);
          const x = columns[i]!.align === 'right' ? xs[i]! + widths[i]! - pad - doc.widthOfString(line) : xs[i]! + pad;
          doc.fillColor(w.color).text(line, x, this.y + pad + k * lh, { lineBreak: false });
        });
      });
      this.y += height;
      this.doc.moveTo(this.left, this.y).lineTo(this.left + this.width, this.y).lineWidth(0.3).strokeColor(COLOR.rule).stroke();
    });
    this.y += 8;
  }

  /** A line for a reviewer to fill in by hand. */
  signatureLine(label: string): void {
    this.ensure(22);
    this.y += 10;
    this.doc.font(FONT.regular).fontSize(8.5).fillColor(COLOR.muted).text(label, this.left, this.y, { lineBreak: false });
    const x = this.left + this.doc.widthOfString(label) + 6;
    this.doc.moveTo(x, this.y + 9).lineTo(this.left + this.width, this.y + 9).lineWidth(0.5).strokeColor(COLOR.muted).stroke();
    this.y += 14;
  }

  /** Draws the running header and "Page i of n" on every page, then ends the document. */
  async finish(): Promise<Buffer> {
    const range = this.doc.bufferedPageRange();
    for (let i = range.start; i < range.start + range.count; i++) {
      this.doc.switchToPage(i);
      const page = this.doc.page;
      const savedBottom = page.margins.bottom;
      page.margins.bottom = 0; // writing in the margin must not start a new page
      if (i > range.start) {
        this.doc.font(FONT.regular).fontSize(7.5).fillColor(COLOR.muted).text(this.#meta.runningHeader, this.left, 30, { lineBreak: false });
        this.doc.moveTo(this.left, 42).lineTo(this.left + this.width, 42).lineWidth(0.5).strokeColor(COLOR.rule).stroke();
      }
      const label = `Page ${i - range.start + 1} of ${range.count}`;
      const w = this.doc.font(FONT.regular).fontSize(7.5).widthOfString(label);
      this.doc.fillColor(COLOR.muted).text(label, this.left + this.width - w, page.height - 36, { lineBreak: false });
      this.doc.text(this.#meta.title, this.left, page.height - 36, { lineBreak: false });
      page.margins.bottom = savedBottom;
    }
    const done = new Promise<void>((resolve) => this.doc.on('end', () => resolve()));
    this.doc.end();
    await done;
    return Buffer.concat(this.#chunks);
  }
}
