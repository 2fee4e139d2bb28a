"""moto_server for the boot's AWS adapters' tests, with the instance box's
CompleteLifecycleAction and SignalResource (moto 5.2 has neither; box_aws.py
adds both, with the checks AWS makes), on 127.0.0.1:PORT.

  moto_aws.py STATE_DIR PORT

Writes STATE_DIR/ready once it serves; stops on SIGTERM. STATE_DIR holds the
box's pending.json (pending launches: [group, instance id, hook]) and
spec.json ({"group": {"creationSignals": N}}), which the test writes.
"""

import os
import signal
import sys
import threading

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..", "..", "support", "instance-box"))

import box_aws  # noqa: E402


def main():
    state_dir, port = sys.argv[1], int(sys.argv[2])
    from moto.moto_server.threaded_moto_server import ThreadedMotoServer

    box_aws.patch_moto(box_aws.Recorder(state_dir), state_dir)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
    server.start()
    stop = threading.Event()
    signal.signal(signal.SIGTERM, lambda *_: stop.set())
    signal.signal(signal.SIGINT, lambda *_: stop.set())
    with open(os.path.join(state_dir, "ready"), "w", encoding="utf-8") as f:
        f.write(str(os.getpid()))
    stop.wait()
    server.stop()


if __name__ == "__main__":
    main()
