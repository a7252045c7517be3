"""A merchant's notify_url for the sandbox's tests: a little local HTTP server."""
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

SUCCESS_ANSWER = ("<xml><return_code><![CDATA[SUCCESS]]></return_code>"
                  "<return_msg><![CDATA[OK]]></return_msg></xml>")
FAIL_ANSWER = ("<xml><return_code><![CDATA[FAIL]]></return_code>"
               "<return_msg><![CDATA[busy]]></return_msg></xml>")


class NotifyReceiver:
    """A merchant's notify_url: answers with `answers` in turn, then SUCCESS; keeps the bodies."""

    def __init__(self, answers=()):
        self.answers = list(answers)
        self.bodies = []
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):
                receiver.bodies.append(self.rfile.read(int(self.headers["Content-Length"])))
                status, text = (receiver.answers.pop(0) if receiver.answers
                                else (200, SUCCESS_ANSWER))
                self.send_response(status)
                self.send_header("Content-Type", "text/xml")
                self.end_headers()
                self.wfile.write(text.encode("utf-8"))

            def log_message(self, format, *args):
                pass

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}/wechat/pay/notify"
        threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True).start()

    def stop(self):
        self._httpd.shutdown()
        self._httpd.server_close()
