import functools
import gzip
import http.server
import shutil
import threading

import pytest

from training import mnist
import train

LABELS = "t10k-labels-idx1-ubyte.gz"  # the smallest file: the one these tests damage or download


def copy_of(mnist_dir, folder, skip=()):
    """`folder` with MNIST's files in it, as links to the real ones (all but `skip`)."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in mnist_dir.glob("*.gz"):
        if path.name not in skip:
            (folder / path.name).symlink_to(path)
    return folder


@pytest.fixture
def mirror(tmp_path, monkeypatch):
    """A real HTTP server on localhost standing in for MNIST's mirrors; put files in the folder it serves."""
    served = tmp_path / "served"
    served.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(served))
    handler.log_message = lambda *args: None
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    monkeypatch.setattr(mnist, "mirrors", lambda: [f"http://127.0.0.1:{server.server_port}/"])
    yield served
    server.shutdown()
    server.server_close()


def test_reads_the_verified_gz_files(mnist_dir):
    images, labels = mnist.load_mnist(mnist_dir, train=False)
    assert images.shape == (10000, 1, 28, 28) and labels.shape == (10000,)
    assert 0 <= images.min() and images.max() == 1.0 and labels[:4].tolist() == [7, 2, 1, 0]


def test_a_damaged_file_is_named_and_never_used(mnist_dir, tmp_path):
    folder = copy_of(mnist_dir, tmp_path / "data", skip={LABELS})
    damaged = bytearray((mnist_dir / LABELS).read_bytes())
    damaged[100] ^= 0xFF
    (folder / LABELS).write_bytes(bytes(damaged))
    with pytest.raises(mnist.DataError, match=f"{LABELS} is damaged: its md5 is [0-9a-f]{{32}}"):
        mnist.load_mnist(folder, train=False)


def test_stale_extracted_files_beside_a_damaged_archive_are_not_used(mnist_dir, tmp_path):
    # The layout torchvision leaves: data/MNIST/raw with the .gz and the extracted files.
    raw = copy_of(mnist_dir, tmp_path / "data" / "MNIST" / "raw", skip={LABELS})
    with gzip.open(mnist_dir / LABELS) as archive:
        (raw / LABELS.removesuffix(".gz")).write_bytes(archive.read())
    (raw / LABELS).write_bytes(b"not what it was")
    with pytest.raises(mnist.DataError, match=LABELS):
        mnist.load_mnist(tmp_path / "data", train=False)


def test_a_missing_file_is_downloaded_and_checked(mnist_dir, tmp_path, mirror):
    folder = copy_of(mnist_dir, tmp_path / "data", skip={LABELS})
    shutil.copy(mnist_dir / LABELS, mirror / LABELS)
    _, labels = mnist.load_mnist(folder, train=False)
    assert labels[:4].tolist() == [7, 2, 1, 0]
    assert (folder / LABELS).is_file() and not list(folder.glob(".*part"))


def test_a_wrong_download_is_thrown_away(mnist_dir, tmp_path, mirror):
    folder = copy_of(mnist_dir, tmp_path / "data", skip={LABELS})
    (mirror / LABELS).write_bytes(b"an error page")
    with pytest.raises(mnist.DataError, match="wrong md5"):
        mnist.load_mnist(folder, train=False)
    assert not (folder / LABELS).exists() and not list(folder.glob(".*part"))


def test_no_data_and_no_network_is_one_clear_line(tmp_path, mirror, capsys):
    # The mirror serves nothing: every file answers 404, as an offline proxy would.
    with pytest.raises(SystemExit) as stopped:
        train.main(["--data-dir", str(tmp_path / "empty"), "--out", str(tmp_path / "out")])
    message = str(stopped.value.code)
    assert message.startswith("train.py: MNIST's train-images-idx3-ubyte.gz is not in") and "\n" not in message
    assert "--data-dir" in message and "Traceback" not in capsys.readouterr().err
    assert not (tmp_path / "out").exists()
