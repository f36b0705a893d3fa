import { watch, type FSWatcher } from 'node:fs'
import { basename, dirname } from 'node:path'
import type { FastifyInstance } from 'fastify'
import { reloadFile } from './reload-file'

export interface WatchOptions {
  file: string
}

// Editors write a file in several steps (truncate, write, rename): one reload after the last.
const DEBOUNCE_MS = 200

/**
 * `"watch": true`: reloads when the config file changes, as Traefik's file provider
 * does, through the same path as SIGHUP (a broken save is refused and logged, the previous
 * config keeps serving). The folder is watched, not the file: an editor that saves by renaming
 * a new file over the old one would leave a watch on the file looking at the old inode.
 */
export default async function watchConfig (fastify: FastifyInstance, opts: WatchOptions) {
  let watcher: FSWatcher | undefined
  let timer: NodeJS.Timeout | undefined
  const name = basename(opts.file)

  fastify.addHook('onReady', async () => {
    watcher = watch(dirname(opts.file), (event, changed) => {
      if (changed !== null && changed !== name) return
      clearTimeout(timer)
      timer = setTimeout(() => reloadFile(fastify, opts.file, 'watch'), DEBOUNCE_MS).unref()
    })
    watcher.unref()
  })

  fastify.addHook('onClose', async () => {
    clearTimeout(timer)
    watcher?.close()
  })
}
