/** Largest byte offset the library accepts: 2^53 - 1. */
export const MAX_OFFSET = Number.MAX_SAFE_INTEGER;
