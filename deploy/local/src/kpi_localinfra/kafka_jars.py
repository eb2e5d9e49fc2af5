"""Apache Kafka's jars: from $KAFKA_HOME, or resolved once from Maven Central with `mvn`."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import time
from pathlib import Path

from kpi_localinfra._proc import InfraError, file_lock, progress

# Newest 4.x whose artifacts Maven Central serves completely (4.4.0 lacks kafka-tools-api).
KAFKA_VERSION = "4.3.1"
SCALA_VERSION = "2.13"
_MARKER = ".complete"


def kafka_version() -> str:
    return os.environ.get("KPI_KAFKA_VERSION", KAFKA_VERSION)


def cache_root() -> Path:
    """~/.cache/kpi-cascade (honours XDG_CACHE_HOME); shared by every clone."""
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "kpi-cascade"


def libs_dir(version: str | None = None) -> Path:
    return cache_root() / f"kafka-{version or kafka_version()}" / "libs"


def kafka_classpath(version: str | None = None) -> str:
    """A java -cp value holding the broker and tools jars (downloads them if needed)."""
    home = os.environ.get("KAFKA_HOME")
    if home:
        libs = Path(home) / "libs"
        if not libs.is_dir():
            raise InfraError(f"KAFKA_HOME={home} has no libs/ folder")
        return f"{libs}/*"
    return f"{ensure_kafka_libs(version)}/*"


def is_complete(version: str | None = None) -> bool:
    """True if the jar cache for `version` was fully written (marker plus every jar)."""
    libs = libs_dir(version)
    marker = libs.parent / _MARKER
    try:
        jars = json.loads(marker.read_text())["jars"]
    except (OSError, ValueError, KeyError, TypeError):
        return False
    return bool(jars) and all((libs / name).is_file() for name in jars)


def ensure_kafka_libs(version: str | None = None) -> Path:
    """The cache's libs folder, filled with `mvn dependency:copy-dependencies` when needed."""
    version = version or kafka_version()
    libs = libs_dir(version)
    if is_complete(version):
        return libs
    with file_lock(libs.parent / ".lock"):
        if not is_complete(version):
            _download(version, libs)
    return libs


def _download(version: str, libs: Path) -> None:
    mvn = shutil.which("mvn")
    if mvn is None:
        raise InfraError("mvn not found: install Maven (apt-get install maven) or set KAFKA_HOME")
    work = libs.parent
    pom = work / "pom.xml"
    shutil.copyfile(find_pom(), pom)
    partial = work / "libs.partial"
    shutil.rmtree(partial, ignore_errors=True)
    progress(f"downloading Apache Kafka {version} jars with Maven into {libs} (one time)...")
    started = time.monotonic()
    done = subprocess.run(
        [
            mvn,
            "-q",
            "-B",
            "-f",
            str(pom),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={partial}",
            f"-Dkafka.version={version}",
        ],
        cwd=work,
        capture_output=True,
        text=True,
        check=False,
        stdin=subprocess.DEVNULL,
    )
    server_jar = partial / f"kafka_{SCALA_VERSION}-{version}.jar"
    if done.returncode != 0 or not server_jar.is_file():
        output = (done.stdout + done.stderr)[-4000:]
        raise InfraError(f"mvn could not resolve Apache Kafka {version}:\n{output}")
    shutil.rmtree(libs, ignore_errors=True)
    partial.rename(libs)
    jars = sorted(p.name for p in libs.glob("*.jar"))
    (work / _MARKER).write_text(json.dumps({"version": version, "jars": jars}, indent=1))
    progress(f"{len(jars)} jars ready in {time.monotonic() - started:.0f}s")


def find_pom() -> Path:
    """deploy/local/kafka/pom.xml in the source tree (the package is installed editable)."""
    pom = Path(__file__).resolve().parents[2] / "kafka" / "pom.xml"
    if not pom.is_file():
        raise InfraError(f"{pom} not found: kpi-localinfra must run from the source tree")
    return pom
