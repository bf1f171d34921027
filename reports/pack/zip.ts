import { createWriteStream } from 'node:fs';
import { once } from 'node:events';
import { ZipFile } from 'yazl';

/**
 * DIR.zip with byte-identical output for identical files: entries in the given (fixed) order under the
 * directory's name, every entry time = generatedAt, fixed modes, no comment, default deflate level.
 */
export async function writeDeterministicZip(zipPath: string, rootName: string, dir: string, paths: string[], generatedAt: Date): Promise<void> {
  const zip = new ZipFile();
  const out = createWriteStream(zipPath);
  zip.outputStream.pipe(out);
  for (const p of paths) {
    // addFile streams from disk (a population may be hundreds of MB); mtime and mode given, so stat is not used.
    zip.addFile(`${dir}/${p}`, `${rootName}/${p}`, { mtime: generatedAt, mode: 0o100644, compress: true });
  }
  zip.end();
  await once(out, 'close');
}
