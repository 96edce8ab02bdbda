#!/usr/bin/env node
// Starts the pinned local DynamoDB (dynalite, in memory) on a free loopback
// port (or on --host ADDRESS) and prints "listening http://ADDRESS:PORT" once
// it accepts requests.
// With --exit-with-stdin it stops when its standard input closes, so that it
// never outlives the process that started it.
'use strict'
const dynalite = require('dynalite')

const args = process.argv.slice(2)
let host = '127.0.0.1'
let port = 0
const i = args.indexOf('--port')
if (i >= 0) port = Number(args[i + 1])
// --host: another local address, such as the Docker bridge's, so that
// containers reach it; never all interfaces unless asked.
const h = args.indexOf('--host')
if (h >= 0) host = args[h + 1]

const server = dynalite({ createTableMs: 0, deleteTableMs: 0, updateTableMs: 0 })
server.on('error', (err) => {
  console.error('dynalite: ' + err.message)
  process.exit(1)
})
server.listen(port, host, () => {
  console.log('listening http://' + host + ':' + server.address().port)
})

const stop = () => server.close(() => process.exit(0))
process.on('SIGINT', stop)
process.on('SIGTERM', stop)
if (args.includes('--exit-with-stdin')) {
  process.stdin.on('end', () => process.exit(0))
  process.stdin.on('error', () => process.exit(0))
  process.stdin.resume()
}
