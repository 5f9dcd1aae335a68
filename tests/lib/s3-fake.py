#!/usr/bin/env python3
# tests/lib/s3-fake.py - a fake S3 endpoint over plain HTTP on 127.0.0.1
# that answers every request with one status and S3 error code, for the
# error paths a real radosgw will not produce on demand (503 SlowDown), or
# never answers (STATUS "stall": a store that hangs).
#
#   s3-fake.py PORTFILE STATUS CODE
#
# Listens on a free port, writes it to PORTFILE, serves until killed.
import http.server
import os
import sys
import time

port_file, code = sys.argv[1], sys.argv[3]
stall = sys.argv[2] == 'stall'
status = 0 if stall else int(sys.argv[2])
body = ('<?xml version="1.0" encoding="UTF-8"?><Error><Code>%s</Code>'
        '<Message></Message></Error>' % code).encode()


class Handler(http.server.BaseHTTPRequestHandler):
    def reply(self):
        n = int(self.headers.get('Content-Length', '0'))
        if n:
            self.rfile.read(n)
        if stall:
            time.sleep(3600)
            return
        self.send_response(status)
        self.send_header('Content-Type', 'application/xml')
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if self.command != 'HEAD':
            self.wfile.write(body)

    do_GET = do_PUT = do_HEAD = do_DELETE = reply

    def log_message(self, *args):
        pass


server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Handler)
server.daemon_threads = True
with open(port_file + '.tmp', 'w') as f:
    f.write('%d\n' % server.server_address[1])
os.rename(port_file + '.tmp', port_file)
server.serve_forever()
