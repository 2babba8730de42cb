#!/usr/bin/env node
// The ranged-mmap-get command; the work is in ../src/cli.js.
import { main } from '../src/cli.js';

process.exitCode = await main(process.argv.slice(2));
