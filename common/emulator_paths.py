"""Where the Firestore and Pub/Sub emulators' jars are (Debian's google-cloud-cli packages), for the local stack
(scripts/local_stack.py) and for `counterfeit doctor`, which must agree on them."""

from __future__ import annotations

from pathlib import Path

GCLOUD_PLATFORM = Path("/usr/lib/google-cloud-sdk/platform")
FIRESTORE_JAR = GCLOUD_PLATFORM / "cloud-firestore-emulator" / "cloud-firestore-emulator.jar"
PUBSUB_LIB = GCLOUD_PLATFORM / "pubsub-emulator" / "lib"
FIRESTORE_FIX = "sudo apt-get install -y google-cloud-cli-firestore-emulator"
PUBSUB_FIX = "sudo apt-get install -y google-cloud-cli-pubsub-emulator"
JAVA_FIX = "sudo apt-get install -y openjdk-17-jre-headless"


def pubsub_jar(lib: Path = PUBSUB_LIB) -> Path | None:
    """The newest ``cloud-pubsub-emulator-*-all.jar``, or None."""
    jars = sorted(lib.glob("cloud-pubsub-emulator-*-all.jar"))
    return jars[-1] if jars else None
