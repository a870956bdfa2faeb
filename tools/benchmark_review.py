#!/usr/bin/env python
"""The review page's speed: time to the first film on screen, and per-drag re-measuring.

Starts ``tools/review.py`` as a user does (a separate process, ``--results`` present),
loads the page in headless Chromium (Debian's ``chromium`` + ``chromium-driver``,
``make browser``) and times:

- start-up: the process launched -> its address printed (Python, the stack, the records);
- first film on screen: the page requested -> the first film's pixels loaded with its
  points and lines drawn (after start-up, the issue's target <= 2 s; and from launch);
- re-measure: ``POST /api/films/<file>/measure`` (what the page sends while a point is
  dragged: the request, geometry on the server, the answer), and the same measurement
  in-process without HTTP; the issue's target <= 50 ms a drag step;
- save: ``PUT /api/films/<file>/keypoints`` (a move saved, the review file rewritten
  atomically with fsync).

Without ``--films``, synthetic films (``hip_mmpose.data_tools.synthetic``) are written,
with records made from their true points plus noise by ``records.film_record`` (the
schema ``tools/infer.py`` writes; no model is trained: only the page is timed).

Example:
    python tools/benchmark_review.py                       # 20 synthetic 1024x768 films
    python tools/benchmark_review.py --films F --results R # your films and infer.py output
    python tools/benchmark_review.py --screenshot docs/review.png   # synthetic films only
"""

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

import numpy as np  # noqa: E402

CHROMIUM, CHROMEDRIVER = '/usr/bin/chromium', '/usr/bin/chromedriver'


def synthetic_set(root: Path, count: int, size) -> tuple[Path, Path]:
    """Synthetic films and stand-in records (true points + 1.5 px noise, scores 0.9)."""
    from hip_mmpose.data_tools.csv_to_coco import parse_annotation_csv
    from hip_mmpose.data_tools.synthetic import write_synthetic_dataset
    from hip_mmpose.utils import records

    write_synthetic_dataset(root / 'data', dict(test=count), size=size, seed=3)
    films = root / 'data' / 'test' / 'images'
    results = root / 'results'
    results.mkdir()
    rng = np.random.default_rng(0)
    for film in sorted(films.iterdir()):
        truth = parse_annotation_csv(root / 'data' / 'test' / 'annotations' / f'{film.stem}.csv')
        points = truth + rng.normal(0, 1.5, truth.shape)
        record = records.film_record(points, np.full(12, 0.9), file=film.name, image_size=size)
        records.write_film(results / f'{film.name}.json', record)
    return films, results


def browser(width: int, height: int):
    from selenium import webdriver
    from selenium.webdriver.chrome.service import Service

    for path in (CHROMIUM, CHROMEDRIVER):
        if not os.access(path, os.X_OK):
            sys.exit(
                f'error: {path} missing: `make browser` (apt-get install chromium chromium-driver)'
            )
    options = webdriver.ChromeOptions()
    options.binary_location = CHROMIUM
    for argument in (
        '--headless=new',
        '--no-sandbox',
        '--disable-gpu',
        '--disable-background-networking',
        '--disable-component-update',
        '--disable-sync',
        '--no-first-run',
        f'--window-size={width},{height}',
    ):
        options.add_argument(argument)
    return webdriver.Chrome(service=Service(CHROMEDRIVER), options=options)


def call(method, url, body=None, token=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method)
    if token:
        request.add_header('X-Review-Token', token)
        request.add_header('Content-Type', 'application/json')
    with urllib.request.urlopen(request, timeout=60) as answer:
        return json.loads(answer.read())


def percentiles(values) -> str:
    values = sorted(values)
    p95 = values[min(len(values) - 1, int(round(0.95 * (len(values) - 1))))]
    return f'median {statistics.median(values):.1f} ms, p95 {p95:.1f} ms, max {values[-1]:.1f} ms'


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument('--films', help='a folder of films (default: synthetic films)')
    parser.add_argument('--results', help="tools/infer.py's output for --films")
    parser.add_argument('--count', type=int, default=20, help='synthetic films (20)')
    parser.add_argument('--size', type=int, nargs=2, default=(1024, 768), help='synthetic size')
    parser.add_argument('--drags', type=int, default=200, help='re-measure requests timed')
    parser.add_argument('--saves', type=int, default=30, help='saves timed')
    parser.add_argument('--screenshot', help='save the page with a point moved (synthetic only)')
    args = parser.parse_args(argv)
    if bool(args.films) != bool(args.results):
        parser.error('--films and --results go together')
    if args.screenshot and args.films:
        parser.error('--screenshot is for synthetic films only (never a real film in docs)')
    from selenium.webdriver.common.action_chains import ActionChains
    from selenium.webdriver.common.by import By
    from selenium.webdriver.support.ui import WebDriverWait

    work = Path(tempfile.mkdtemp(prefix='benchmark_review-'))
    if args.films:
        films, results = Path(args.films), Path(args.results)
        what = f'{films} with {results}'
    else:
        films, results = synthetic_set(work, args.count, tuple(args.size))
        what = f'{args.count} synthetic {args.size[0]}x{args.size[1]} films, records present'
    driver = browser(1500, 900)
    env = dict(os.environ, PYTHONUNBUFFERED='1')
    command = [sys.executable, str(REPO / 'tools' / 'review.py'), str(films), '--results']
    command += [str(results), '--out-dir', str(work / 'review'), '--port', '0']
    launched = time.perf_counter()
    server = subprocess.Popen(
        command, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, env=env
    )
    try:
        url = None
        for line in server.stdout:
            if 'serving http://' in line:
                url = line.split('serving ')[1].split()[0]
                break
        if url is None:
            sys.exit('error: the server did not start')
        ready = time.perf_counter()
        driver.get(url)
        WebDriverWait(driver, 60, poll_frequency=0.01).until(
            lambda d: d.find_element(By.TAG_NAME, 'body').get_attribute('data-shown')
        )
        shown = time.perf_counter()
        first = driver.find_element(By.TAG_NAME, 'body').get_attribute('data-shown')
        token = driver.find_element(By.CSS_SELECTOR, 'meta[name="hip-review-token"]').get_attribute(
            'content'
        )
        quoted = urllib.request.quote(first)
        if args.screenshot:  # a point dragged with the mouse, the page as a reader sees it
            point = driver.find_element(By.CSS_SELECTOR, '#points circle[data-index="0"]')
            ActionChains(driver).click_and_hold(point).move_by_offset(-20, -14).pause(
                0.3
            ).move_by_offset(-20, -14).pause(0.3).release().perform()
            WebDriverWait(driver, 60).until(
                lambda d: 'version 1' in d.find_element(By.ID, 'film-state').text
            )
            time.sleep(0.5)
            driver.save_screenshot(args.screenshot)
        view = call('GET', f'{url}api/films/{quoted}')
        points = np.array([k[:2] for k in view['keypoints']], float)
        rng = np.random.default_rng(1)
        over_http = []
        for _ in range(args.drags):
            moved = points.copy()
            moved[0] += rng.uniform(-3, 3, 2)
            start = time.perf_counter()
            call('POST', f'{url}api/films/{quoted}/measure', dict(keypoints=moved.tolist()), token)
            over_http.append(1000 * (time.perf_counter() - start))
        saves = []
        version = view['version']
        for _ in range(args.saves):
            moved = points.copy()
            moved[0] += rng.uniform(-3, 3, 2)
            start = time.perf_counter()
            version = call(
                'PUT',
                f'{url}api/films/{quoted}/keypoints',
                dict(keypoints=moved.tolist(), version=version),
                token,
            )['version']
            saves.append(1000 * (time.perf_counter() - start))
    finally:
        driver.quit()
        server.terminate()
        server.wait(30)
    # the same measurement in-process (no HTTP): geometry and the record
    from hip_mmpose.review import FilmSet, ReviewStore

    store = ReviewStore(FilmSet(films), work / 'inprocess', results_dir=results)
    in_process = []
    for _ in range(args.drags):
        moved = points.copy()
        moved[0] += rng.uniform(-3, 3, 2)
        start = time.perf_counter()
        store.measure_points(first, moved.tolist())
        in_process.append(1000 * (time.perf_counter() - start))
    print(f'films: {what}')
    print(f'start-up (process launched -> address printed): {ready - launched:.2f} s')
    print(f'first film on screen after start-up: {shown - ready:.2f} s (target <= 2 s)')
    print(f'first film on screen after launch: {shown - launched:.2f} s')
    print(
        f're-measure per drag step, POST /measure (n={args.drags}): {percentiles(over_http)} '
        '(target <= 50 ms)'
    )
    print(f're-measure in-process, no HTTP (n={args.drags}): {percentiles(in_process)}')
    print(f'save a move, PUT /keypoints (n={args.saves}): {percentiles(saves)}')
    if args.screenshot:
        print(f'screenshot: {args.screenshot}')
    return 0


if __name__ == '__main__':
    sys.exit(main())
