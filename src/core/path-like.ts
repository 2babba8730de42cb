/** A path as the public API takes it: a string, or a `file:` URL. */
export type PathLike = string | URL;
