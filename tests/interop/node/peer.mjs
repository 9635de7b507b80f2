#!/usr/bin/env node
// A yjs + y-websocket peer driven over stdin/stdout, for Tandem's interop tests.
//
// It holds the document the way JupyterLab does: a @jupyter/ydoc YNotebook (or YFile
// for text files) whose Y.Doc and awareness are given to y-websocket's
// WebsocketProvider, connected to `${url}/${room}?sessionId=...&token=...`.
//
// Usage: node peer.mjs '<json config>'
//   config: {"url": "ws://127.0.0.1:PORT/api/collaboration/room",
//            "room": "json:notebook:<fileId>" | "text:file:<fileId>",
//            "sessionId": "...", "token": "...",
//            "auth": "query" (default: token as ?token=) | "header" (Authorization header),
//            "maxBackoffTime": ms between reconnection attempts at most (y-websocket: 2500)}
//
// Protocol: one JSON object per line.
//   stdin  -> {"seq": n, "op": ..., ...}   commands, handled one after the other
//   stdout <- {"reply": n, "ok": true, ...} or {"reply": n, "ok": false, "error": "..."}
//   stdout <- {"event": "..."}            unsolicited: hello, status, synced, connection-close, closed
//
// Commands ("cell" is a cell index; omit it for a text file's root "source"):
//   insert        {cell?, index?, text}     insert text (index in UTF-16 units; default: end)
//   delete        {cell?, index, length}
//   append_cell   {cell_type, source, id?}  -> {id, index}
//   insert_cell   {index, cell_type, source, id?} -> {id}
//   dump          -> {cells: [{id, cell_type, source}], notebook, state} | {source, state}
//   wait_for      {cell?, contains?, cells?, timeout_ms?}  resolves when cell's source
//                 contains the string and/or the notebook has `cells` cells
//   awareness     {state}                   set the local awareness state -> {clientId}
//   awareness_states                        -> {states: {clientId: state}}
//   close                                   destroy the provider and exit

import readline from 'node:readline'
import WebSocket from 'ws'
import { WebsocketProvider } from 'y-websocket'
import { YFile, YNotebook } from '@jupyter/ydoc'

const config = JSON.parse(process.argv[2] || '{}')
const kind = config.room && config.room.startsWith('json:notebook:') ? 'notebook' : 'text'

const emit = (obj) => process.stdout.write(JSON.stringify(obj) + '\n')

const model = kind === 'notebook' ? new YNotebook() : new YFile()
const ydoc = model.ydoc

let WS = WebSocket
const params = {}
if (config.sessionId !== undefined) params.sessionId = config.sessionId
if (config.auth === 'header') {
  const headers = { Authorization: `token ${config.token}` }
  WS = class extends WebSocket {
    constructor (url, protocols) {
      super(url, protocols, { headers })
    }
  }
} else if (config.token) {
  params.token = config.token
}

const provider = new WebsocketProvider(config.url, config.room, ydoc, {
  WebSocketPolyfill: WS,
  awareness: model.awareness,
  params,
  disableBc: true,
  ...(config.maxBackoffTime ? { maxBackoffTime: config.maxBackoffTime } : {})
})

provider.on('status', ({ status }) => emit({ event: 'status', status }))
provider.on('sync', (synced) => {
  if (synced) emit({ event: 'synced', clientId: ydoc.clientID })
})
provider.on('connection-close', (ev) => {
  emit({ event: 'connection-close', code: ev ? ev.code : null, reason: ev ? String(ev.reason || '') : null })
})
provider.on('closed', (ev) => emit({ event: 'closed', code: ev.code, reason: String(ev.reason || '') }))
provider.on('connection-error', (ev) => emit({ event: 'connection-error', message: String(ev && ev.message) }))

emit({ event: 'hello', clientId: ydoc.clientID, kind })

const sourceOf = (cmd) => {
  if (kind === 'text') return model.ydoc.getText('source')
  if (typeof cmd.cell !== 'number') throw new Error('a notebook command needs "cell"')
  const cells = model.ydoc.getArray('cells')
  if (cmd.cell < 0 || cmd.cell >= cells.length) {
    throw new Error(`no cell ${cmd.cell} (the notebook has ${cells.length})`)
  }
  return cells.get(cmd.cell).get('source')
}

const dump = () => {
  const state = model.ydoc.getMap('state').toJSON()
  if (kind === 'text') return { source: model.ydoc.getText('source').toString(), state }
  const cells = model.ydoc.getArray('cells').toArray().map((c) => ({
    id: c.get('id'),
    cell_type: c.get('cell_type'),
    source: c.get('source').toString()
  }))
  return { cells, notebook: model.toJSON(), state }
}

const condition = (cmd) => {
  if (typeof cmd.cells === 'number') {
    if (kind !== 'notebook' || model.ydoc.getArray('cells').length !== cmd.cells) return false
  }
  if (typeof cmd.contains === 'string') {
    try {
      if (!sourceOf(cmd).toString().includes(cmd.contains)) return false
    } catch (err) {
      return false
    }
  }
  return true
}

const waitFor = (cmd) => new Promise((resolve, reject) => {
  if (condition(cmd)) return resolve({})
  const timeout = cmd.timeout_ms ?? 15000
  const check = () => {
    if (condition(cmd)) {
      clearTimeout(timer)
      ydoc.off('afterTransaction', check)
      resolve({})
    }
  }
  const timer = setTimeout(() => {
    ydoc.off('afterTransaction', check)
    reject(new Error(`timed out waiting for ${JSON.stringify(cmd)}; state: ${JSON.stringify(dump())}`))
  }, timeout)
  ydoc.on('afterTransaction', check)
})

const handlers = {
  insert (cmd) {
    const text = sourceOf(cmd)
    const index = typeof cmd.index === 'number' ? cmd.index : text.length
    text.insert(index, cmd.text)
    return { length: text.length }
  },
  delete (cmd) {
    const text = sourceOf(cmd)
    text.delete(cmd.index, cmd.length)
    return { length: text.length }
  },
  append_cell (cmd) {
    const cell = model.addCell({ cell_type: cmd.cell_type || 'code', source: cmd.source || '', id: cmd.id })
    return { id: cell.id, index: model.cells.length - 1 }
  },
  insert_cell (cmd) {
    const cell = model.insertCell(cmd.index, { cell_type: cmd.cell_type || 'code', source: cmd.source || '', id: cmd.id })
    return { id: cell.id }
  },
  dump () {
    return dump()
  },
  wait_for (cmd) {
    return waitFor(cmd)
  },
  awareness (cmd) {
    model.awareness.setLocalState(cmd.state)
    return { clientId: ydoc.clientID }
  },
  awareness_states () {
    return { states: Object.fromEntries(model.awareness.getStates()) }
  },
  close () {
    return {} // the loop below stops reading and shuts down
  }
}

const rl = readline.createInterface({ input: process.stdin, terminal: false })
let closing = false

const shutdown = () => {
  if (closing) return
  closing = true
  try { provider.destroy() } catch (err) {}
  try { model.dispose() } catch (err) {}
  // Let stdout drain, then leave (awareness and provider timers would keep us alive).
  process.stdout.write('', () => process.exit(0))
}

for await (const line of rl) {
  if (!line.trim()) continue
  let cmd
  try {
    cmd = JSON.parse(line)
  } catch (err) {
    emit({ event: 'bad-command', line, error: String(err) })
    continue
  }
  const handler = handlers[cmd.op]
  try {
    if (!handler) throw new Error(`unknown op ${JSON.stringify(cmd.op)}`)
    const result = await handler(cmd)
    emit({ reply: cmd.seq ?? null, ok: true, ...result })
  } catch (err) {
    emit({ reply: cmd.seq ?? null, ok: false, error: String(err && err.stack ? err.stack : err) })
  }
  if (cmd.op === 'close') break
}
// stdin closed (the test went away) or "close": disconnect and exit.
shutdown()
