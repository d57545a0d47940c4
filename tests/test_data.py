"""backprop.data: the shipped sample, and the optional full-MNIST download tested on local files only."""
import hashlib
import socket

import numpy as np
import pytest
import torch

from backprop.data import MNIST_SAMPLE, NAMES, download_mnist, load_mnist, load_mnist_sample, load_names


def fake_mnist(path):
    "A tiny file shaped like Keras's mnist.npz; returns its SHA-256."
    rng = np.random.default_rng(0)
    np.savez(path, x_train=rng.integers(0, 256, (6, 28, 28), dtype=np.uint8), y_train=np.arange(6, dtype=np.uint8),
             x_test=rng.integers(0, 256, (2, 28, 28), dtype=np.uint8), y_test=np.arange(2, dtype=np.uint8))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_the_shipped_sample_is_balanced_and_scaled():
    x, y = load_mnist_sample()
    assert x.shape == (5000, 784) and x.dtype == torch.float32 and y.dtype == torch.int64
    assert 0.0 <= x.min() and x.max() <= 1.0
    assert torch.bincount(y).tolist() == [500] * 10


def test_the_shipped_names_are_the_census_lists_lowercase_and_distinct():
    names = load_names()
    assert len(names) == len(set(names)) == 5163 and names[:3] == ["mary", "patricia", "linda"]
    assert set("".join(names)) == set("abcdefghijklmnopqrstuvwxyz")
    assert hashlib.sha256(NAMES.read_bytes()).hexdigest() in (NAMES.parent / "DATA.md").read_text()


@pytest.mark.parametrize("text, problem", [("anna\nJohn\n", "line 2"), ("anna\n\nbob\n", "line 2"), ("zoë\n", "line 1"),
                                           ("", "holds no names")])
def test_load_names_refuses_a_file_that_is_not_names_of_a_to_z(tmp_path, text, problem):
    (tmp_path / "n.txt").write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match=problem):
        load_names(tmp_path / "n.txt")
    with pytest.raises(FileNotFoundError, match="no file"):
        load_names(tmp_path / "missing.txt")
    with pytest.raises(TypeError, match="file path"):
        load_names(3)


def test_download_checks_the_hash_and_caches(tmp_path):
    src = tmp_path / "served.npz"
    digest = fake_mnist(src)
    cache = tmp_path / "cache"
    path = download_mnist(cache, url=src.as_uri(), sha256=digest)
    assert path == cache / "mnist.npz" and path.read_bytes() == src.read_bytes()
    src.unlink()                                       # a second call must use the cache, not the URL
    assert download_mnist(cache, url=src.as_uri(), sha256=digest) == path
    x_train, y_train, x_test, y_test = load_mnist(path)
    assert x_train.shape == (6, 784) and x_test.shape == (2, 784) and y_train.tolist() == list(range(6))


def test_download_refuses_a_file_with_the_wrong_hash(tmp_path):
    src = tmp_path / "served.npz"
    fake_mnist(src)
    with pytest.raises(ValueError, match="expected 0{64}: refusing a damaged or different file"):
        download_mnist(tmp_path / "cache", url=src.as_uri(), sha256="0" * 64)
    assert not list((tmp_path / "cache").iterdir()), "a refused download must leave nothing in the cache"


def test_download_offline_is_a_clear_error(tmp_path):
    with socket.socket() as s:                         # a loopback port that nothing listens on
        s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]
    with pytest.raises(ConnectionError, match="are you offline"):
        download_mnist(tmp_path, url=f"http://127.0.0.1:{port}/mnist.npz", timeout=5)


def test_load_mnist_names_missing_arrays(tmp_path):
    bad = tmp_path / "bad.npz"
    np.savez(bad, x_train=np.zeros((1, 28, 28)))
    with pytest.raises(ValueError, match=r"lacks the arrays \['x_test', 'y_test', 'y_train'\]"):
        load_mnist(bad)


def test_the_shipped_file_hash_is_checked(tmp_path, monkeypatch):
    import backprop.data as data
    damaged = tmp_path / "mnist_5k.npz"
    damaged.write_bytes(MNIST_SAMPLE.read_bytes()[:-10])
    monkeypatch.setattr(data, "MNIST_SAMPLE", damaged)
    with pytest.raises(ValueError, match="the file is damaged"):
        data.load_mnist_sample()


def test_load_mnist_refuses_a_keras_file_with_wrong_contents(tmp_path):
    path = tmp_path / "mnist.npz"
    ok_x, ok_y = np.zeros((3, 28, 28), np.uint8), np.array([1, 2, 3])
    np.savez(path, x_train=ok_x, y_train=ok_y, x_test=ok_x / 255.0, y_test=ok_y)     # test images as floats: divided twice
    with pytest.raises(ValueError, match=r"load_mnist: .* x_test must be uint8 pixels .* got float64"):
        load_mnist(path)
    np.savez(path, x_train=ok_x, y_train=ok_y[:2], x_test=ok_x, y_test=ok_y)
    with pytest.raises(ValueError, match=r"y_train must be integers of shape \(3,\), one per image"):
        load_mnist(path)
    np.savez(path, x_train=ok_x, y_train=ok_y, x_test=ok_x, y_test=ok_y)
    x_train, y_train, x_test, y_test = load_mnist(path)
    assert x_train.shape == (3, 784) and y_test.tolist() == [1, 2, 3]
