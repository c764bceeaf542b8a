// Own image folders: --unknown-data may not overlap --data.
import { suite } from 'uvu';
import { join } from 'node:path';
import * as assert from 'uvu/assert';
import { loadFolderOpenSet } from '../src/data/index.js';
import { rejects, removeTempDirs, tempDir } from './data-fixtures.js';
import { writeShapesFolder } from './shapes-folder.js';

const test = suite('ood on own data');
test.after(removeTempDirs);

const KNOWN = ['bars', 'columns', 'disc'] as const;

test('--unknown-data may not lie above or inside --data (its images are read from every sub-folder)', async () => {
  const root = tempDir();
  const data = writeShapesFolder(join(root, 'data'), { perClass: 2 });
  const o = { dataDir: data, known: [...KNOWN], valFraction: 0.5, imageSize: 8 };
  await rejects(() => loadFolderOpenSet({ ...o, unknownDataDir: root }), new RegExp(`--unknown-data ${root} holds the --data folder ${data}`));
  await rejects(() => loadFolderOpenSet({ ...o, unknownDataDir: join(data, 'ring') }), /--unknown-data .*ring lies inside the --data folder/);
  // A folder beside it is fine, even one whose name starts like the data folder's.
  const beside = writeShapesFolder(join(root, 'data-other'), { perClass: 1, shapes: ['ring'] });
  assert.is((await loadFolderOpenSet({ ...o, unknownDataDir: beside })).testUnknown.n, 1);
});

test.run();
