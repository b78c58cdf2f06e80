"""Downloads against a real HTTP server on 127.0.0.1: verify, cache, mirror fallback."""
import contextlib
import gzip
import hashlib
import http.server
import os
import signal
import threading
import time

import numpy as np
import pytest

from chainer_vae import data, download

from helpers import SHARED_MNIST, needs_shared_mnist, run_cli, start_cli

STALL = 3  # seconds a stalling mirror waits; the client's timeout is shorter


DRIP = 0.2  # seconds between the bytes of a dripping mirror (under any read timeout)
DRIP_FOR = 20  # seconds a dripping mirror goes on at most


class Mirror(http.server.BaseHTTPRequestHandler):
    """GET /<behaviour>/<file>: ok, regzip, corrupt, truncated, stall, drip (a byte every
    DRIP seconds); anything else is 404."""

    def do_GET(self):
        self.server.hits.append(self.path)
        behaviour, _, name = self.path.strip('/').partition('/')
        body = self.server.files.get(name, {}).get(
            behaviour.replace('stall', 'ok').replace('drip', 'ok'))
        if body is None:
            self.send_error(404)
            return
        if behaviour == 'stall':
            time.sleep(STALL)
        self.send_response(200)
        self.send_header('Content-Length', str(len(body)))
        self.end_headers()
        if behaviour == 'drip':
            self.drip(body)
            return
        if behaviour == 'truncated':
            body = body[:len(body) // 2]
        try:
            self.wfile.write(body)
        except (BrokenPipeError, ConnectionResetError):
            pass

    def drip(self, body):
        end = time.monotonic() + DRIP_FOR
        for i in range(len(body)):
            if time.monotonic() > end:
                return
            try:
                self.wfile.write(body[i:i + 1])
                self.wfile.flush()
            except (BrokenPipeError, ConnectionResetError):
                return
            time.sleep(DRIP)

    def log_message(self, *args):
        pass


def variants(body):
    """What each behaviour serves: the file, another gzip wrapper of the same content,
    and a valid gzip with one wrong byte inside; truncated is cut when sent."""
    raw = gzip.decompress(body)
    return {'ok': body, 'truncated': body, 'regzip': gzip.compress(raw, compresslevel=1),
            'corrupt': gzip.compress(raw[:-1] + bytes([raw[-1] ^ 0xFF]), compresslevel=1)}


@pytest.fixture(scope='module')
def mirror():
    """(base URL, checksums): the real MNIST files where ../shared has them, else small
    generated ones (with their own checksums)."""
    if os.path.isdir(SHARED_MNIST):
        files = {n: open(os.path.join(SHARED_MNIST, n), 'rb').read() for n in download.MD5}
        checksums = download.MD5
    else:
        rng = np.random.RandomState(0)
        shapes = {'train-images': (6, 28, 28), 'train-labels': (6,),
                  't10k-images': (4, 28, 28), 't10k-labels': (4,)}
        files, checksums = {}, {}
        for name in download.MD5:
            shape = shapes[name.split('-idx')[0]]
            raw = data.encode_idx(rng.randint(0, 10 if len(shape) == 1 else 256, shape))
            files[name] = gzip.compress(raw)
            checksums[name] = hashlib.md5(raw).hexdigest()
    with serving(files) as (server, base):
        yield server, base, checksums


@contextlib.contextmanager
def serving(files):
    """(server, base URL) of a Mirror on 127.0.0.1 serving ``files`` ({name: .gz bytes})."""
    server = http.server.ThreadingHTTPServer(('127.0.0.1', 0), Mirror)
    server.daemon_threads = True
    server.files = {name: variants(body) for name, body in files.items()}
    server.hits = []
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server, 'http://127.0.0.1:%d/' % server.server_port
    finally:
        server.shutdown()
        server.server_close()


def fetch(mirror, tmp_path, *behaviours, timeout=1):
    server, base, checksums = mirror
    del server.hits[:]
    cache = str(tmp_path / 'cache')
    directory = download.ensure('mnist', cache, [base + b + '/' for b in behaviours],
                                checksums, timeout=timeout)
    for name, md5 in checksums.items():
        assert download.verified(os.path.join(directory, name), md5)
    return cache, list(server.hits)


def files_in(directory):
    return sorted(f for _, _, names in os.walk(directory) for f in names)


def test_download_verify_cache_then_no_network(mirror, tmp_path):
    cache, hits = fetch(mirror, tmp_path, 'ok')
    assert len(hits) == 4 and files_in(cache) == sorted(download.MD5)
    _, hits = fetch(mirror, tmp_path, 'ok')
    assert hits == []  # the cache answers


@pytest.mark.parametrize('first', ['missing', 'corrupt', 'truncated', 'stall'])
def test_first_mirror_fails_the_second_is_used(mirror, tmp_path, first):
    start = time.time()
    cache, hits = fetch(mirror, tmp_path, first, 'ok')
    assert [h.split('/')[1] for h in hits] == [first, 'ok'] * 4
    assert files_in(cache) == sorted(download.MD5)  # no .part file left behind
    if first == 'stall':
        assert time.time() - start < 4 * STALL  # each stall was cut short by the timeout


def test_a_faithful_regzip_is_accepted(mirror, tmp_path):
    _, hits = fetch(mirror, tmp_path, 'regzip')
    assert len(hits) == 4


def test_a_wrong_file_in_the_cache_is_replaced(mirror, tmp_path):
    cache, _ = fetch(mirror, tmp_path, 'ok')
    victim = os.path.join(cache, 't10k-labels-idx1-ubyte.gz')
    with open(victim, 'wb') as f:
        f.write(b'not MNIST')
    _, hits = fetch(mirror, tmp_path, 'ok')
    assert hits == ['/ok/t10k-labels-idx1-ubyte.gz']


def test_every_mirror_failing_is_one_clear_error(mirror, tmp_path):
    server, base, checksums = mirror
    cache = str(tmp_path / 'cache')
    urls = [base + 'missing/', base + 'corrupt/', 'http://127.0.0.1:9/']
    with pytest.raises(download.DownloadError) as caught:
        download.ensure('mnist', cache, urls, checksums, timeout=1)
    message = str(caught.value)
    assert '\n' not in message and '--data-dir' in message
    for part in ('missing/: HTTP 404', 'corrupt/: checksum mismatch', '127.0.0.1:9/: '):
        assert part in message
    assert files_in(cache) == []


def test_a_dripping_mirror_meets_the_deadline(mirror, tmp_path):
    server, base, checksums = mirror
    name = 't10k-labels-idx1-ubyte.gz'
    start = time.time()
    with pytest.raises(download.DownloadError, match='drip/: timed out after 1 s in all'):
        download.download(name, str(tmp_path), [base + 'drip/'], checksums[name],
                          timeout=5, deadline=1)
    assert time.time() - start < 1 + 3 * DRIP  # each read came in time; the whole did not
    assert os.listdir(str(tmp_path)) == []


@pytest.mark.parametrize('signum', [signal.SIGTERM, signal.SIGINT])
def test_a_signal_during_a_download_leaves_no_part_file(mirror, tmp_path, monkeypatch, signum):
    _, base, _ = mirror
    monkeypatch.setenv('CHAINER_VAE_MNIST_MIRRORS', base + 'drip/')
    proc = start_cli('--test', '-o', tmp_path / 'out')
    cache = download.cache_dir()
    deadline = time.time() + 60
    while not (os.path.isdir(cache) and os.listdir(cache)) and time.time() < deadline:
        time.sleep(0.05)  # until the first .part file is there
    assert [f for f in os.listdir(cache) if f.endswith('.part')]
    proc.send_signal(signum)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 128 + signum
    assert err.strip().splitlines() == [
        'train_vae.py: error: interrupted (%s); nothing was written' % signal.Signals(signum).name]
    assert os.listdir(cache) == []
    assert not (tmp_path / 'out').exists()


def test_mirror_list_from_the_environment(monkeypatch):
    monkeypatch.setenv('CHAINER_VAE_MNIST_MIRRORS', ' http://a/x ,http://b/y/,')
    assert download.mirrors() == ('http://a/x/', 'http://b/y/')
    monkeypatch.setenv('CHAINER_VAE_MNIST_MIRRORS', '')
    assert download.mirrors() == ()  # none: no download
    monkeypatch.delenv('CHAINER_VAE_MNIST_MIRRORS')
    assert download.mirrors() == download.MIRRORS
    monkeypatch.setenv('CHAINER_DATASET_ROOT', '/r')
    assert download.cache_dir() == os.path.join('/r', 'chainer_vae', 'mnist')


def test_cli_when_every_mirror_fails(mirror, tmp_path, monkeypatch):
    _, base, _ = mirror
    monkeypatch.setenv('CHAINER_VAE_MNIST_MIRRORS', base + 'missing/,http://127.0.0.1:9/')
    result = run_cli('--test', '-o', str(tmp_path / 'out'))
    assert result.returncode == 1 and 'Traceback' not in result.stderr
    assert result.stderr.count('\n') == 1 and 'HTTP 404' in result.stderr
    assert files_in(os.environ['CHAINER_DATASET_ROOT']) == []


@needs_shared_mnist
def test_cli_downloads_once_then_runs_offline(mirror, tmp_path, monkeypatch):
    _, base, _ = mirror
    monkeypatch.setenv('CHAINER_VAE_MNIST_MIRRORS', base + 'missing/,' + base + 'ok/')
    first = run_cli('--test', '-e', '1', '-o', str(tmp_path / 'a'))
    assert first.returncode == 0, first.stderr
    monkeypatch.setenv('CHAINER_VAE_MNIST_MIRRORS', 'http://127.0.0.1:9/')  # no network now
    second = run_cli('--test', '-e', '1', '-o', str(tmp_path / 'b'))
    assert second.returncode == 0, second.stderr
    assert files_in(os.environ['CHAINER_DATASET_ROOT']) == sorted(download.MD5)


@pytest.mark.parametrize('extra, accepted', [(0, True), (1, False)])
def test_content_that_inflates_past_the_largest_set_is_refused_unhashed(tmp_path, monkeypatch,
                                                                        extra, accepted):
    """A gzip bomb (a few MB inflating to GB) is refused once it passes MAX_CONTENT, even
    with the md5 of its content; content up to it is hashed whole."""
    assert download.MAX_CONTENT > 47040016  # the 60,000 training images, decompressed
    monkeypatch.setattr(download, 'MAX_CONTENT', 1000)
    content = bytes(1000 + extra)
    path = tmp_path / 'bomb.gz'
    path.write_bytes(gzip.compress(content))
    assert download.verified(str(path), hashlib.md5(content).hexdigest()) is accepted
