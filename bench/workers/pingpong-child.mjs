// The other process of the pingpong scenario: answers every ping on word 0
// of the shared file (1 -> 2) until it reads 0 (stop), with wait/notify.
import { MemoryMappedFile } from 'ranged-mmap';

const m = MemoryMappedFile.openRw(process.argv[2]);
const word = m.atomicU32(0);
process.send('ready');
for (;;) {
  let v = word.load();
  while (v === 2) {
    m.wait(0, 2);
    v = word.load();
  }
  if (v === 3) break;
  // v === 1: a ping
  word.store(2);
  m.notify(0);
}
m.close();
process.exit(0);
