// Preloaded (`node -r`) into a peer under `--cpu-prof`: V8 writes the profile only when the process exits
// by itself, and a SIGTERM without a handler kills it before that.
process.on('SIGTERM', () => process.exit(0))
