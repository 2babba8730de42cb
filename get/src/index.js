// ranged-mmap-get: a resumable parallel downloader built on ranged-mmap.
export { download } from './download.js';
export { AbortError, EXIT, GetError } from './errors.js';
export { parseSize } from './parse.js';
