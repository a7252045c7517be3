"""What the X-Ray SDK hands the daemon, captured where it leaves the process (the emitter's
UDP send), so a test sees exactly what would be traced, whatever emitter the app configures."""
import json

from aws_xray_sdk.core.emitters.udp_emitter import UDPEmitter


def capture_segments():
    """Starts capturing; returns the list the sent segments and subsegments are added to."""
    sent = []

    def send_data(emitter, data):
        sent.append(json.loads(data.split("\n", 1)[1]))

    UDPEmitter._send_data = send_data
    return sent
