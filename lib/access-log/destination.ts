import SonicBoom from 'sonic-boom'

export interface LineWriter {
  write (line: string): void
  /** Opens the file again by its name (after a rotation moved it); nothing for stdout. */
  reopen (): void
  /** Writes what is buffered and closes the file (stdout stays open). */
  close (): Promise<void>
}

/**
 * Where the combined and template lines go: pino would wrap them in JSON, so they are written
 * with pino's own writer, sonic-boom (asynchronous, buffered, and safe to end at close: what is
 * buffered is written first). A file is opened for appending, so that several processes (the
 * workers) can share it line by line, as nginx's workers share theirs.
 */
export function lineWriter (destination: string, onError: (err: Error) => void): LineWriter {
  const file = destination !== 'stdout'
  const boom = file ? new SonicBoom({ dest: destination, append: true, mkdir: true }) : new SonicBoom({ fd: 1 })
  // A write that fails (disk full, the file's directory gone) is logged, never a crash.
  boom.on('error', onError)
  let closed = false
  return {
    write (line) {
      if (!closed) boom.write(line + '\n')
    },
    reopen () {
      if (file && !closed) boom.reopen()
    },
    async close () {
      if (closed) return
      closed = true
      await new Promise<void>(resolve => {
        boom.once('close', () => resolve())
        boom.once('error', () => resolve())
        boom.end()
      })
    }
  }
}
