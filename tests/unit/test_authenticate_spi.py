"""Stitches per inch measured from rendered seam photos, and seed 003's 20-trial table reproduced end to end."""

from __future__ import annotations

import functools
import math

import numpy as np
import pytest

from common.authenticate import judge, quality, seam
from common.authenticate import synthetic as syn
from common.vision.spi import FILTERS
from tests.unit.test_vision_spi import TRIALS

LIMITS = {"max_bytes": 50_000_000, "max_pixels": 50_000_000}


def measure(data: bytes, max_blur_mm: float = quality.MAX_BLUR_MM) -> seam.SpiMeasurement:
    cap = quality.assess("seam.jpg", data, **LIMITS, max_blur_mm=max_blur_mm)
    assert cap.usable and cap.rectified is not None and cap.detection is not None, cap.retake
    return seam.measure_capture(cap)


@functools.cache
def measured(spi: float, role: str) -> seam.SpiMeasurement:
    """One photo per (SPI, genuine/candidate): different leather, thread, angle and camera for each."""
    seed = int(spi * 10) + (0 if role == "genuine" else 1000)
    cam = syn.Camera(tilt_deg=8 + seed % 12, tilt_dir_deg=seed % 360, roll_deg=seed % 40 - 20)
    thread = (0.9, 0.85, 0.7) if role == "genuine" else (0.15, 0.12, 0.1)
    return measure(syn.seam_photo(spi, seed=seed, cam=cam, thread=thread, angle_deg=seed % 30 - 15))


def measured_spi(spi: float, role: str) -> float:
    return measured(spi, role).spi


@pytest.mark.parametrize(
    "spi, cam, material, angle",
    [
        (4.0, syn.Camera(), "canvas", -10),
        (12.0, syn.Camera(tilt_deg=25, tilt_dir_deg=30, roll_deg=15), "leather", 5),
        (39.0, syn.Camera(tilt_deg=15, roll_deg=-30, gradient=0.4), "leather", 20),
    ],
)
def test_estimator_within_half_a_stitch_and_its_uncertainty_covers_the_truth(
    spi, cam, material, angle
) -> None:
    m = measure(syn.seam_photo(spi, seed=7, cam=cam, material=material, angle_deg=angle))
    assert abs(m.spi - spi) <= 0.5
    assert m.stitches >= seam.MIN_PERIODS and m.length_mm > 100
    assert m.uncertainty > 0


def _photo(world: np.ndarray, cam: syn.Camera, seed: int) -> bytes:
    syn.place_card(world)
    return syn.photograph(world, cam, seed)


def test_the_periodic_line_is_measured_not_the_strongest_edge() -> None:
    """A dark crease / panel edge across the photo out-contrasts the thin seam (the previous estimator measured
    the strongest line); the search scores lines by periodicity, so the seam is found and measured."""
    world = syn.leather(21, (0.5, 0.32, 0.2))
    syn.draw_seam(world, 9.0, 21, thread=(0.62, 0.45, 0.32), angle_deg=8.0, thread_mm=0.5)
    yy, xx = np.mgrid[0 : world.shape[0], 0 : world.shape[1]].astype(np.float32) / syn.WORLD_PX_PER_MM
    a = math.radians(-35.0)
    across = -(xx - 140) * math.sin(a) + (yy - 150) * math.cos(a)
    world *= (1.0 - 0.6 * np.exp(-((across / 1.2) ** 2)))[..., None]  # a crease 2.4 mm wide, 60 % darker
    m = measure(_photo(world, syn.Camera(tilt_deg=12, tilt_dir_deg=40), 21))
    assert abs(m.spi - 9.0) <= 0.1
    assert min(abs(m.angle_deg - 8.0), 180 - abs(m.angle_deg - 8.0)) < 1.0


def test_a_line_whose_period_changes_along_it_is_refused() -> None:
    """Half the line at 8 SPI, half at 11: no single period agrees along it, so it is no measurable seam (the
    segment check), never a number in between."""
    left = syn.leather(31, (0.45, 0.27, 0.15))
    right = left.copy()
    syn.draw_seam(left, 8.0, 31)
    syn.draw_seam(right, 11.0, 32)
    half = left.shape[1] // 2
    left[:, half:] = right[:, half:]
    cap = quality.assess("mixed.jpg", _photo(left, syn.Camera(), 31), **LIMITS)
    with pytest.raises(seam.SeamNotFound, match="not the same along it"):
        seam.measure_capture(cap)


STRESS_CASES = [  # (spi, material, thread, camera): the benchmark's hard conditions, one photo each
    (7.5, "gravel", (0.97, 0.97, 0.95), syn.Camera(tilt_deg=30, tilt_dir_deg=200, roll_deg=70, gain=0.6)),
    (15.0, "canvas", (0.7, 0.1, 0.1), syn.Camera(tilt_deg=35, tilt_dir_deg=90, jpeg_quality=72, noise=0.03)),
    (33.0, "leather", (0.08, 0.07, 0.07), syn.Camera(tilt_deg=10, roll_deg=250, gain=0.5, blur_px=0.8)),
]


def _world(material: str, seed: int) -> np.ndarray:
    from skimage import data

    if material == "leather":
        return syn.leather(seed, (0.35, 0.22, 0.12))
    if material == "canvas":
        return syn.canvas(seed, (0.7, 0.62, 0.45), weave_mm=0.7)
    return syn.photo_texture(getattr(data, material)(), span_mm=80)


@functools.cache
def stress_measurements() -> list[tuple[float, seam.SpiMeasurement]]:
    out = []
    for k, (spi, material, thread, cam) in enumerate(STRESS_CASES):
        world = _world(material, 40 + k)
        syn.draw_seam(world, spi, 40 + k, thread=thread, angle_deg=-18 + 12 * k, thread_mm=0.7)
        out.append((spi, measure(_photo(world, cam, 40 + k))))
    return out


def test_estimator_on_busy_textures_colours_tilt_and_blur() -> None:
    for spi, m in stress_measurements():
        assert abs(m.spi - spi) <= 0.5, (spi, m)
        assert m.segments_agreeing >= seam.MIN_AGREEING


def test_uncertainty_covers_the_truth_on_a_small_set() -> None:
    """The reported +- (2 sigma) covers the true SPI on every photo of the small set (and is not absurdly
    wide: under 3 % of the value)."""
    for spi, m in stress_measurements():
        assert abs(m.spi - spi) <= m.uncertainty, (spi, m)
        assert m.uncertainty < 0.03 * spi


def test_brick_courses_are_periodic_lines_too_declined_never_mismeasured() -> None:
    """A brick wall's mortar courses are periodic lines (head joints every few mm, with a comb of harmonics)
    that out-score a thin navy seam; they repeat beside themselves and are refused, and a seam whose period
    falls on the bricks' comb is declined with the reason rather than given a wrong number."""
    world = _world("brick", 41)
    syn.draw_seam(world, 21.0, 41, thread=(0.1, 0.12, 0.35), angle_deg=-6, thread_mm=0.7)
    cam = syn.Camera(tilt_deg=20, roll_deg=140, blur_px=1.2, gradient=0.5)
    cap = quality.assess("brick.jpg", _photo(world, cam, 41), **LIMITS)
    try:
        m = seam.measure_capture(cap)
    except seam.SeamNotFound as exc:
        assert "no regular stitch pattern" in str(exc)
    else:
        assert abs(m.spi - 21.0) <= 0.5


def _bench_photo(material: str, material_mm: float, spi: float, seam: tuple[int, tuple[float, float, float], float, float],
                 cam: syn.Camera, photo_seed: int) -> bytes:  # fmt: skip
    """One of `scripts/bench_authenticate.py --seed 31`'s photos, rebuilt from its drawn conditions:
    ``material`` a scikit-image texture photo spanning ``material_mm``, ``seam`` (seed, thread colour, angle,
    thread width)."""
    from skimage import data

    world = syn.photo_texture(getattr(data, material)(), span_mm=material_mm)
    seam_seed, thread, angle, thread_mm = seam
    syn.draw_seam(world, spi, seam_seed, thread=thread, angle_deg=angle, thread_mm=thread_mm)
    return _photo(world, cam, photo_seed)


def _seed31_photo32(roll_deg: float) -> bytes:
    """Seed 31's photo 32: a tan thread at SPI 21.92 on grass, 1.9 px blur, JPEG 86; ``roll_deg`` 292.3 as
    drawn."""
    cam = syn.Camera(tilt_deg=0.3, tilt_dir_deg=217.5, roll_deg=roll_deg, blur_px=1.94, gain=1.2, gradient=0.56,
                     noise=0.013, jpeg_quality=86)  # fmt: skip
    return _bench_photo("grass", 78.26, 21.9246, (9770, (0.75, 0.55, 0.3), 11.1, 0.7), cam, 735408)


@pytest.mark.parametrize("roll_deg", [292.3, 0.0])
def test_a_faint_jpeg_periodicity_along_a_strong_seam_is_not_taken_for_its_period(roll_deg: float) -> None:
    """Seed 31's one wrong number: along a high-contrast seam JPEG's chroma blocks beat with the stitches into
    faint periodicities of their own (39.8 SPI here; 33.6 SPI with the camera unrolled). Where the blur has
    removed the grass's contrast they outscore the stitches on the search's coarse tiles, and they are the
    same all along the seam and absent beside it, so they passed both checks (measured 39.82 +- 0.30 and
    33.58). The line's own most prominent period on the whole line (the stitches: thousands of times their
    spectral neighbourhood in luminance) is now tried too, most prominent first."""
    m = measure(
        _seed31_photo32(roll_deg), quality.SEAM_MAX_BLUR_MM
    )  # the gate `authenticate` uses for a seam
    assert abs(m.spi - 21.9246) <= 0.1, m
    assert abs(m.spi - 21.9246) <= m.uncertainty, m
    assert m.segments_agreeing == seam.SEGMENTS


def test_a_colour_period_on_the_jpeg_block_grid_is_not_a_seam() -> None:
    """Seed 31's photo 24: a red thread at SPI 39.2 on grey gravel, JPEG 74. The thread shows only in colour
    (in luminance the gravel is as dark), and JPEG's colour quantisation has removed its period on the true
    seam line (the same photo at JPEG 100 shows it 660x its neighbourhood). What is left along the seam is the
    compression's own: periods at 2x and 4x the rate at which the line crosses the 16 px colour blocks' rows
    (17.2 and 34.3 SPI), the same all along the seam and absent beside it. Measured 17.2 before; now refused
    with the reason, and the photo is declined."""
    cam = syn.Camera(tilt_deg=10.6, tilt_dir_deg=163.0, roll_deg=57.2, blur_px=1.21, gain=0.74, gradient=0.41,
                     noise=0.029, jpeg_quality=74)  # fmt: skip
    photo = _bench_photo("gravel", 52.46, 39.1837, (984621, (0.7, 0.1, 0.1), -11.3, 0.99), cam, 902713)
    cap = quality.assess("red.jpg", photo, **LIMITS, max_blur_mm=quality.SEAM_MAX_BLUR_MM)
    assert cap.metrics["jpeg_block_px"] == 16  # PIL's default 4:2:0
    try:
        m = seam.measure_capture(cap)
    except seam.SeamNotFound as exc:
        assert "no regular stitch pattern" in str(exc)
    else:
        assert abs(m.spi - 39.1837) <= 0.5, m


def test_the_seam_line_is_refitted_on_the_harmonics_the_blur_keeps() -> None:
    """Seed 31's photo 28 (black thread, SPI 28.6, on grass, 1.4 px blur): the search found the seam's line
    and period, but the refit located the stitch energy across the line on the 2nd and 3rd harmonics too
    (57 and 86 SPI), which the blur had removed: what carried that energy was JPEG's blocks beside the thread,
    and the refitted line slid 1 mm off the seam, where no piece agreed. Harmonics above what the blur keeps
    are now left out of the refit."""
    # exact: rounded to 3 digits, this photo's refit happens to stay on the seam
    cam = syn.Camera(tilt_deg=19.84959371762135, tilt_dir_deg=296.99266261199875, roll_deg=293.6316375454821,
                     blur_px=1.3933040434867277, gain=1.0716388047705556, gradient=0.5975973215347501,
                     noise=0.020125871173872323, jpeg_quality=77)  # fmt: skip
    seam_drawn = (632086, (0.08, 0.07, 0.07), 18.735176277437013, 0.5562614302740021)
    photo = _bench_photo("grass", 89.99611139098025, 28.569536696678632, seam_drawn, cam, 565090)
    m = measure(photo, quality.SEAM_MAX_BLUR_MM)
    assert abs(m.spi - 28.5695) <= m.uncertainty <= 0.5, m
    assert m.segments_agreeing >= seam.MIN_AGREEING


def _seed71_photo11() -> bytes:
    """`scripts/bench_authenticate.py --seed 71 --group realistic`'s photo 11, rebuilt from its drawn conditions:
    a navy thread at SPI 22.38 on canvas (0.94 mm weave), camera tilted 34 degrees."""
    world = syn.canvas(565199, (0.24568975880390742, 0.18950422478920925, 0.37978003938319926),
                       weave_mm=0.9368404513083394)  # fmt: skip
    syn.draw_seam(world, 22.376771400334043, 980169, thread=(0.1, 0.12, 0.35), angle_deg=20.571606283808315,
                  thread_mm=0.8287781371372611)  # fmt: skip
    cam = syn.Camera(tilt_deg=34.24555561917305, tilt_dir_deg=91.11467047700546, roll_deg=232.89740165019512,
                     blur_px=0.1325057471166733, gain=0.6606969192130105, gradient=0.36244367250989135,
                     noise=0.005028993535354527, jpeg_quality=76)  # fmt: skip
    return _photo(world, cam, 554526)


def test_a_thin_thread_on_canvas_outscored_by_the_weaves_moire_is_found_by_the_second_search() -> None:
    """Seed 71's photo 11 (declined before): on the true seam line the stitches stand 320x above their spectral
    neighbourhood in luminance, 4 of 4 pieces agree and nothing repeats beside the line, but the first search
    never proposed that line: the 0.83 mm thread fills a quarter of its 1 mm bands' weight on 32 mm tiles
    (whitened power ~15 there), luminance is a third of the channels' mean, and lines of the canvas' moire
    (3-5 SPI, 140-170 degrees) scored 50-65. The second search (seam.FINE_GRID: 64 mm tiles, 0.5 mm bands,
    the best channel, each frequency against its neighbourhood) ranks the seam first."""
    m = measure(_seed71_photo11(), quality.SEAM_MAX_BLUR_MM)
    assert abs(m.spi - 22.3768) <= min(m.uncertainty, 0.5), m
    assert m.segments_agreeing == seam.SEGMENTS


def test_a_coarse_seam_on_grass_is_found_on_longer_tiles() -> None:
    """Seed 59's photo 37 (declined before): a cream thread at SPI 3.95 (6.4 mm stitches) on grass. On the
    first search's 32 mm tiles a stitch period is 5 cycles against the grass's strongest (coarsest) contrast;
    its 64 mm tiles and local whitening find it."""
    # the drawn camera (tilt, its direction, roll, blur px, gain, gradient, noise, JPEG quality), exact
    drawn = (25.026193640206806, 285.39036164969303, 200.44057974113622, 0.8403226130706714, 1.1062422677383816,
             0.24152162934890703, 0.020074847621449055, 94)  # fmt: skip
    seam_drawn = (993549, (0.92, 0.88, 0.75), 14.103360779067941, 0.519608664365051)
    m = measure(_bench_photo("grass", 92.94701141513102, 3.9464549813015304, seam_drawn, syn.Camera(*drawn), 187441),
                quality.SEAM_MAX_BLUR_MM)  # fmt: skip
    assert abs(m.spi - 3.9465) <= min(m.uncertainty, 0.5), m
    assert m.segments_agreeing >= seam.MIN_AGREEING


def _seed83_photo8() -> bytes:
    """`scripts/bench_authenticate.py --seed 83`'s photo 8, rebuilt exactly from its drawn conditions
    (byte-identical to the bench's render): a black thread at SPI 27.53 on gravel, 1.95 px blur, JPEG 78."""
    drawn = (13.223405979271254, 148.95720030802195, 19.96634688923692, 1.951716045871066, 1.1138173659875201,
             0.04088303889241187, 0.010175632670112796, 78)  # fmt: skip
    seam_drawn = (692129, (0.08, 0.07, 0.07), -15.254554462092907, 0.641826700672997)
    return _bench_photo(
        "gravel", 91.26672759696021, 27.529661028667118, seam_drawn, syn.Camera(*drawn), 442206
    )


def test_a_refit_a_degree_off_the_seam_is_polished_onto_it(monkeypatch: pytest.MonkeyPatch) -> None:
    """Seed 83's photo 8 (declined before): both searches find the seam's line and period (the true line: 4 of
    4 pieces agree, 394x its spectral neighbourhood), but the refit settles ~1 degree off the seam among the
    gravel's dark stones; over the 208 mm stretch the band leaves the thread on one half and 1-2 pieces agree.
    The last pass turns and moves such a line to where its period stands out most and checks it again."""
    cap = quality.assess("gravel.jpg", _seed83_photo8(), **LIMITS, max_blur_mm=quality.SEAM_MAX_BLUR_MM)
    m = seam.measure_capture(cap)
    assert abs(m.spi - 27.5297) <= min(m.uncertainty, 0.5), m
    assert m.segments_agreeing >= seam.MIN_AGREEING
    monkeypatch.setattr(seam, "_polished", lambda rect, weak: None)
    with pytest.raises(seam.SeamNotFound, match="pieces agree"):
        seam.measure_capture(cap)


def test_no_seam_is_an_explained_failure_not_a_number() -> None:
    world = syn.leather(11, (0.45, 0.27, 0.15))
    syn.place_card(world)
    cap = quality.assess("plain.jpg", syn.photograph(world, syn.Camera(), 11), **LIMITS)
    assert cap.rectified is not None and cap.detection is not None
    with pytest.raises(seam.SeamNotFound, match="no regular stitch pattern"):
        seam.measure_spi(cap.rectified, cap.detection.reprojection_mm)


def test_seed_003_trial_table_from_photos_first_pass_17_of_20_with_the_seeds_errors() -> None:
    errors = []
    for item, name, a, x, fake in TRIALS:
        a_hat, x_hat = measured_spi(a, "genuine"), measured_spi(x, "candidate")
        if (not FILTERS[name].passes(a_hat, x_hat)) != fake:  # type: ignore[index]
            errors.append(item)
    assert errors == ["Val 1", "LV 1", "Coach 2"]


def test_seed_003_trial_table_from_photos_routed_at_t15_is_20_of_20() -> None:
    """Each trial's genuine SPI measured on one photo, the other item's on another, judged as `authenticate`
    judges a seam (routing with the uncertainty); an inconclusive answer would count as wrong."""
    correct = 0
    for _item, _name, a, x, fake in TRIALS:
        m = measured(x, "candidate")
        status = judge.judge_spi(m.spi, m.uncertainty, measured_spi(a, "genuine"), None).status
        correct += status == ("suspect" if fake else "authentic")
    assert correct == 20


def test_spi_judgement_uses_the_uncertainty() -> None:
    assert judge.judge_spi(19.0, 0.3, 20.0, None).status == "authentic"  # Coach 3: margaret zone 18.0-23.1
    assert judge.judge_spi(17.0, 0.3, 20.0, None).status == "suspect"  # Coach 1
    assert judge.judge_spi(18.05, 0.3, 20.0, None).status == "inconclusive"  # straddles 18.006
    assert judge.judge_spi(21.5, 0.2, 20.0, 1.0).status == "suspect"  # outside the kit's own +-1
