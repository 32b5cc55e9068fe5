"""livingreview.meta against published output of metafor (and Stata's metan, which metafor's tests compare with).

Every dataset below is copied from the text files the metafor author publishes with the data
(github.com/wviechtb/metadat, ``data-raw/dat.*.txt``); every expected number is copied from output printed by
metafor or Stata in the source named next to it, and asserted to the precision that source prints.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from livingreview import meta

# printed to 4 decimals: anything within half a unit of the last digit agrees
P4 = 5e-5


def near(value: float, expected: float, tol: float = P4) -> bool:
    return abs(value - expected) <= tol


# ------------------------------------------------------------------------------------------------ datasets

# wviechtb/metadat data-raw/dat.colditz1994.txt (dat.bcg is the same data: data-raw/dat.bcg.r)
BCG = pd.DataFrame({
    "author": ["Aronson", "Ferguson & Simes", "Rosenthal et al", "Hart & Sutherland", "Frimodt-Moller et al",
               "Stein & Aronson", "Vandiviere et al", "TPT Madras", "Coetzee & Berjak", "Rosenthal et al",
               "Comstock et al", "Comstock & Webster", "Comstock et al"],
    "year": [1948, 1949, 1960, 1977, 1973, 1953, 1973, 1980, 1968, 1961, 1974, 1969, 1976],
    "tpos": [4, 6, 3, 62, 33, 180, 8, 505, 29, 17, 186, 5, 27],
    "tneg": [119, 300, 228, 13536, 5036, 1361, 2537, 87886, 7470, 1699, 50448, 2493, 16886],
    "cpos": [11, 29, 11, 248, 47, 372, 10, 499, 45, 65, 141, 3, 29],
    "cneg": [128, 274, 209, 12619, 5761, 1079, 619, 87892, 7232, 1600, 27197, 2338, 17825],
    "ablat": [44, 55, 42, 52, 13, 44, 19, 13, 27, 42, 18, 33, 33],
    "alloc": ["random", "random", "random", "random", "alternate", "alternate", "random", "random", "random",
              "systematic", "systematic", "systematic", "systematic"],
})

# wviechtb/metadat data-raw/dat.normand1999.txt
NORMAND = pd.DataFrame({
    "source": ["Edinburgh", "Orpington-Mild", "Orpington-Moderate", "Orpington-Severe", "Montreal-Home",
               "Montreal-Transfer", "Newcastle", "Umea", "Uppsala"],
    "n1i": [155, 31, 75, 18, 8, 57, 34, 110, 60], "m1i": [55, 27, 64, 66, 14, 19, 52, 21, 30],
    "sd1i": [47, 7, 17, 20, 8, 7, 45, 16, 27], "n2i": [156, 32, 71, 18, 13, 52, 33, 183, 52],
    "m2i": [75, 29, 119, 137, 18, 18, 41, 31, 23], "sd2i": [64, 4, 29, 48, 11, 4, 34, 27, 20],
})

# wviechtb/metadat data-raw/dat.hine1989.txt
HINE = pd.DataFrame({"n1i": [39, 44, 107, 103, 110, 154], "n2i": [43, 44, 110, 100, 106, 146],
                     "ai": [2, 4, 6, 7, 7, 11], "ci": [1, 4, 4, 5, 3, 4]})

# wviechtb/metadat data-raw/dat.molloy2014.txt (ni, ri)
MOLLOY = pd.DataFrame({
    "ni": [109, 749, 55, 107, 72, 65, 174, 326, 58, 771, 56, 91, 116, 537, 158, 65],
    "ri": [0.187, 0.162, 0.340, 0.320, 0.270, 0.000, 0.175, 0.050, 0.260, 0.010, -0.090, 0.370, 0.000, 0.150,
           0.240, 0.040],
})

# wviechtb/metadat data-raw/dat.pritz1997.txt
PRITZ = pd.DataFrame({"xi": [16, 10, 4, 43, 10, 25, 13, 12, 22, 4, 5, 18, 58, 6],
                      "ni": [17, 12, 8, 58, 10, 42, 14, 12, 41, 5, 6, 23, 68, 10]})

# wviechtb/metadat data-raw/dat.nielweise2007.txt (ai of n1i: treated; ci of n2i: control)
NIELWEISE = pd.DataFrame({
    "ci": [3, 3, 9, 7, 6, 4, 3, 2, 19, 2, 7, 1, 5, 11, 0, 1, 3, 1],
    "n2i": [117, 35, 195, 136, 157, 139, 177, 39, 103, 122, 64, 58, 175, 180, 105, 262, 362, 69],
    "ai": [0, 1, 2, 0, 5, 1, 1, 1, 1, 1, 0, 0, 3, 6, 0, 0, 1, 4],
    "n1i": [116, 44, 208, 130, 151, 98, 174, 74, 97, 113, 66, 70, 188, 187, 118, 252, 345, 64],
})


def bcg(measure: str) -> pd.DataFrame:
    return meta.escalc(measure, BCG, ai="tpos", bi="tneg", ci="cpos", di="cneg")


# ------------------------------------------------------------------------------------------------ escalc


def test_escalc_rr_of_every_bcg_trial():
    # wviechtb/metafor README.md: escalc(measure="RR", ai=tpos, bi=tneg, ci=cpos, di=cneg, data=dat.bcg)
    yi = [-0.8893, -1.5854, -1.3481, -1.4416, -0.2175, -0.7861, -1.6209, 0.0120, -0.4694, -1.3713, -0.3394,
          0.4459, -0.0173]
    vi = [0.3256, 0.1946, 0.4154, 0.0200, 0.0512, 0.0069, 0.2230, 0.0040, 0.0564, 0.0730, 0.0124, 0.5325, 0.0714]
    dat = bcg("RR")
    assert np.allclose(dat["yi"], yi, atol=P4, rtol=0)
    assert np.allclose(dat["vi"], vi, atol=P4, rtol=0)
    assert list(dat.columns[:-2]) == list(BCG.columns)  # appended to the data, which stays as it was


def test_escalc_accepts_totals_instead_of_non_events():
    with_totals = meta.escalc("RR", ai=BCG.tpos, n1i=BCG.tpos + BCG.tneg, ci=BCG.cpos, n2i=BCG.cpos + BCG.cneg)
    assert np.allclose(with_totals["yi"], bcg("RR")["yi"]) and np.allclose(with_totals["vi"], bcg("RR")["vi"])


def test_escalc_smd_is_hedges_g_with_metafors_variance():
    # wviechtb/metafor tests/testthat/test_misc_escalc.r ("SMD/SMDH/ROM", dat.normand1999 subset 1:4)
    dat = meta.escalc("SMD", NORMAND, m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i", sd2i="sd2i", n2i="n2i")
    assert np.allclose(dat["yi"][:4], [-0.3552, -0.3479, -2.3176, -1.8880], atol=P4, rtol=0)
    assert np.allclose(dat["vi"][:4], [0.0131, 0.0645, 0.0458, 0.1606], atol=P4, rtol=0)
    # wviechtb/metafor tests/testthat/test_misc_rma_uni.r: rma on those four, tau2 = 1.0090
    assert near(meta.rma(dat["yi"][:4], dat["vi"][:4]).tau2, 1.0090)


def test_escalc_md_and_the_normand_random_effects_model():
    # wviechtb/metafor docs/reference/dat.normand1999.html (example output)
    dat = meta.escalc("MD", NORMAND, m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i", sd2i="sd2i", n2i="n2i")
    assert np.allclose(dat["vi"], [40.5080, 2.0806, 15.6984, 150.2222, 17.3077, 1.1673, 94.5891, 6.3109, 19.8423],
                       atol=P4, rtol=0)
    res = meta.rma(dat["yi"], dat["vi"])
    assert near(res.tau2, 684.6462) and near(res.I2, 98.97, 5e-3) and near(res.QE, 238.9158)
    assert near(res.beta, -15.1060) and near(res.se, 8.9466) and near(res.zval, -1.6885)
    assert near(res.ci_lb, -32.6409) and near(res.ci_ub, 2.4289)
    # same page: rma(measure="SMD", ...) on all nine studies
    smd = meta.escalc("SMD", NORMAND, m1i="m1i", sd1i="sd1i", n1i="n1i", m2i="m2i", sd2i="sd2i", n2i="n2i")
    res = meta.rma(smd["yi"], smd["vi"])
    assert near(res.tau2, 0.7908) and near(res.I2, 95.49, 5e-3) and near(res.H2, 22.20, 5e-3)
    assert near(res.QE, 123.7293) and near(res.beta, -0.5371) and near(res.se, 0.3087)
    assert near(res.ci_lb, -1.1421) and near(res.ci_ub, 0.0679)


def test_md_with_pooled_sd_reproduces_normand_1999_tables():
    # wviechtb/metafor tests/testthat/test_analysis_example_normand1999.r (Normand 1999, Tables VIII and IX)
    sdp = np.sqrt(((NORMAND.n1i - 1) * NORMAND.sd1i**2 + (NORMAND.n2i - 1) * NORMAND.sd2i**2)
                  / (NORMAND.n1i + NORMAND.n2i - 2))
    dat = meta.escalc("MD", m1i=NORMAND.m1i, sd1i=sdp, n1i=NORMAND.n1i, m2i=NORMAND.m2i, sd2i=sdp, n2i=NORMAND.n2i)
    assert list(dat["yi"]) == [-20, -2, -55, -71, -4, 1, 11, -10, 7]
    assert np.allclose(dat["vi"], [40.59, 2.05, 15.28, 150.22, 20.19, 1.22, 95.38, 8.03, 20.69], atol=5e-3, rtol=0)
    ee, dl, reml = (meta.rma(dat["yi"], dat["vi"], method=m) for m in ("FE", "DL", "REML"))
    assert (round(ee.beta, 2), round(ee.ci_lb, 2), round(ee.ci_ub, 2)) == (-3.49, -5.03, -1.96)
    assert (round(dl.beta, 2), round(dl.ci_lb, 2), round(dl.ci_ub, 2), round(dl.tau2, 2)) == (-14.10, -24.45, -3.75,
                                                                                              218.72)
    assert (round(reml.beta, 2), round(reml.ci_lb, 2), round(reml.ci_ub, 2), round(reml.tau2, 2)) == (
        -15.12, -32.67, 2.43, 685.20)


def test_escalc_rd_reproduces_normand_1999_table_iii():
    # wviechtb/metafor tests/testthat/test_analysis_example_normand1999.r (dat.hine1989; Normand 1999, Table III
    # and Table VII), in percentage points
    dat = meta.escalc("RD", HINE, ai="ai", n1i="n1i", ci="ci", n2i="n2i")
    yi, vi = dat["yi"] * 100, dat["vi"] * 100**2
    assert np.allclose(yi, [2.8026, 0.0000, 1.9711, 1.7961, 3.5334, 4.4031], atol=P4, rtol=0)
    assert np.allclose(vi, [17.7575, 37.5657, 8.1323, 10.8998, 8.0114, 6.1320], atol=P4, rtol=0)
    for method in ("FE", "REML", "DL"):
        res = meta.rma(yi, vi, method=method)
        assert (round(res.beta, 2), round(res.ci_lb, 1), round(res.ci_ub, 1)) == (2.94, 0.4, 5.5)
        assert round(res.tau2, 3) == 0


def test_escalc_zcor_and_the_molloy_meta_analysis():
    # wviechtb/metafor docs/reference/dat.molloy2014.html (example output)
    dat = meta.escalc("ZCOR", MOLLOY, ri="ri", ni="ni")
    assert np.allclose(dat["yi"], [0.1892, 0.1634, 0.3541, 0.3316, 0.2769, 0.0000, 0.1768, 0.0500, 0.2661, 0.0100,
                                   -0.0902, 0.3884, 0.0000, 0.1511, 0.2448, 0.0400], atol=P4, rtol=0)
    assert np.allclose(dat["vi"], [0.0094, 0.0013, 0.0192, 0.0096, 0.0145, 0.0161, 0.0058, 0.0031, 0.0182, 0.0013,
                                   0.0189, 0.0114, 0.0088, 0.0019, 0.0065, 0.0161], atol=P4, rtol=0)
    res = meta.rma(dat["yi"], dat["vi"])
    assert near(res.tau2, 0.0081) and near(res.I2, 61.73, 5e-3) and near(res.H2, 2.61, 5e-3)
    assert near(res.QE, 38.1595) and near(res.QEp, 0.0009)
    assert near(res.beta, 0.1499) and near(res.se, 0.0316) and near(res.zval, 4.7501)
    assert near(res.ci_lb, 0.0881) and near(res.ci_ub, 0.2118)
    # predict(res, digits=3, transf=transf.ztor): the average correlation with its CI and prediction interval
    r = res.transf(np.tanh)
    assert (round(r.pred, 3), round(r.ci_lb, 3), round(r.ci_ub, 3)) == (0.149, 0.088, 0.209)
    assert (round(r.pi_lb, 3), round(r.pi_ub, 3)) == (-0.037, 0.325)


def test_escalc_proportions_with_metafors_correction_where_xi_is_0_or_ni():
    # wviechtb/metafor docs/reference/dat.pritz1997.html: two studies have xi == ni (Tanabe 10/10, Hadeishi 12/12),
    # which get 1/2 added to events and non-events; random-effects models on PR and on PLO
    pr = meta.escalc("PR", PRITZ, xi="xi", ni="ni")
    assert pr["yi"][4] == pytest.approx(10.5 / 11) and pr["yi"][0] == pytest.approx(16 / 17)
    res = meta.rma(pr["yi"], pr["vi"])
    p = res.predict()
    assert near(p.pred, 0.7968) and near(res.se, 0.0423) and near(p.ci_lb, 0.7138) and near(p.ci_ub, 0.8797)
    assert near(p.pi_lb, 0.5306) and near(p.pi_ub, 1.0629)
    plo = meta.escalc("PLO", PRITZ, xi="xi", ni="ni")
    p = meta.rma(plo["yi"], plo["vi"]).predict(lambda x: 1 / (1 + np.exp(-x)))
    assert near(p.pred, 0.7575) and near(p.ci_lb, 0.6605) and near(p.ci_ub, 0.8337)
    assert near(p.pi_lb, 0.4661) and near(p.pi_ub, 0.9179)


def test_escalc_or_with_zero_cells_reproduces_stijnen_2010():
    # wviechtb/metafor tests/testthat/test_analysis_example_stijnen2010.r, normal-normal model for the OR
    # (dat.nielweise2007; drop00=TRUE drops the trial with no events in either arm; Stijnen et al. 2010, Table III)
    both_zero = (NIELWEISE.ai == 0) & (NIELWEISE.ci == 0)
    assert both_zero.sum() == 1
    dat = meta.escalc("OR", NIELWEISE[~both_zero], ai="ai", n1i="n1i", ci="ci", n2i="n2i")
    res = meta.rma(dat["yi"], dat["vi"])
    assert round(res.beta, 3) == -0.980 and round(res.se, 3) == 0.243 and round(res.tau, 2) == 0.19
    p = res.transf(np.exp)
    assert (round(p.pred, 2), round(p.ci_lb, 2), round(p.ci_ub, 2)) == (0.38, 0.23, 0.60)


def test_only_studies_with_a_zero_cell_are_corrected():
    dat = meta.escalc("OR", NIELWEISE, ai="ai", n1i="n1i", ci="ci", n2i="n2i")
    # Bach 1996: 0/116 treated, 3/117 control -> every cell + 1/2; Maki 1997 (no zero) is left alone
    assert dat["yi"][0] == pytest.approx(math.log((0.5 / 116.5) / (3.5 / 114.5)))
    assert dat["vi"][0] == pytest.approx(1 / 0.5 + 1 / 116.5 + 1 / 3.5 + 1 / 114.5)
    assert dat["yi"][2] == pytest.approx(math.log((2 / 206) / (9 / 186)))
    plain = meta.escalc("OR", NIELWEISE, ai="ai", n1i="n1i", ci="ci", n2i="n2i", add=0.5, to="all")
    assert plain["yi"][2] != pytest.approx(dat["yi"][2])


def test_rd_gets_the_same_correction_as_metafor_gives_it():
    # wviechtb/metafor R/escalc.r: add=0 by default only for AS, PHI, RTET, IRSD, PAS, PFT, IRS, IRFT; for RD, as
    # for RR and OR, to="only0" adds 1/2 to every cell of a table with a zero cell before the proportions are taken
    dat = meta.escalc("RD", ai=[0, 2], n1i=[10, 10], ci=[3, 3], n2i=[10, 10])
    p1, p2 = 0.5 / 11, 3.5 / 11
    assert dat["yi"][0] == pytest.approx(p1 - p2) and dat["vi"][0] == pytest.approx(p1 * (1 - p1) / 11
                                                                                    + p2 * (1 - p2) / 11)
    assert dat["yi"][1] == pytest.approx(0.2 - 0.3) and dat["vi"][1] == pytest.approx(0.2 * 0.8 / 10 + 0.3 * 0.7 / 10)


def test_escalc_gen_from_a_wald_interval():
    # wviechtb/metafor tests/testthat/test_misc_escalc.r ("summary() ... out.names"): first BCG trial, log RR
    # -0.8893 with sei 0.5706 and CI [-2.0077, 0.2290]; GEN recovers the standard error from the interval
    dat = meta.escalc("GEN", yi=[-0.8893], ci_lb=[-2.0077], ci_ub=[0.2290])
    assert near(math.sqrt(dat["vi"][0]), 0.5706)
    ratio = meta.escalc("GEN", yi=[math.exp(-0.8893)], ci_lb=[math.exp(-2.0077)], ci_ub=[math.exp(0.2290)],
                        ratio=True)
    assert near(ratio["yi"][0], -0.8893) and near(math.sqrt(ratio["vi"][0]), 0.5706)
    assert meta.escalc("GEN", yi=[0.1], sei=[0.2])["vi"][0] == pytest.approx(0.04)


# ------------------------------------------------------------------------------------------------ bad input


@pytest.mark.parametrize(("measure", "columns", "column", "row", "expected"), [
    ("RR", {"ai": [4, -1], "bi": [10, 10], "ci": [3, 3], "di": [9, 9]}, "ai", 2, "count >= 0"),
    ("OR", {"ai": [4, 12], "n1i": [10, 10], "ci": [3, 3], "n2i": [9, 9]}, "ai", 2, "events <= the group's total"),
    ("MD", {"m1i": [1, 2], "sd1i": [1, 0], "n1i": [5, 5], "m2i": [1, 1], "sd2i": [1, 1], "n2i": [5, 5]}, "sd1i", 2,
     "standard deviation > 0"),
    ("SMD", {"m1i": [1, 2], "sd1i": [1, 1], "n1i": [1, 5], "m2i": [1, 1], "sd2i": [1, 1], "n2i": [5, 5]}, "n1i", 1,
     "group size >= 2"),
    ("ZCOR", {"ri": [0.2, 1.3], "ni": [20, 30]}, "ri", 2, "correlation in [-1, 1]"),
    ("PLO", {"xi": [3, 9], "ni": [10, 8]}, "xi", 2, "events <= the total"),
    ("GEN", {"yi": [0.5], "ci_lb": [0.6], "ci_ub": [0.9]}, "yi", 1, "inside its confidence interval"),
    ("RR", {"ai": [4, None], "bi": [10, 10], "ci": [3, 3], "di": [9, 9]}, "ai", 2, "missing value"),
])
def test_impossible_input_names_row_column_and_expectation(measure, columns, column, row, expected):
    with pytest.raises(meta.EffectSizeError) as err:
        meta.escalc(measure, **columns)
    assert err.value.row == row and err.value.column == column and expected in str(err.value)
    assert isinstance(err.value, ValueError)


def test_errors_use_the_datas_column_names_and_study_labels():
    bad = BCG.assign(tneg=BCG.tneg.where(BCG.index != 3, -5))
    with pytest.raises(meta.EffectSizeError) as err:
        meta.escalc("RR", bad, ai="tpos", bi="tneg", ci="cpos", di="cneg", slab=bad.author + " " + bad.year.astype(str))
    assert err.value.column == "tneg" and err.value.row == 4
    assert str(err.value).startswith("study 4 (Hart & Sutherland 1977), column 'tneg': expected a count >= 0")


def test_text_in_a_number_column_is_a_located_error_not_a_traceback():
    with pytest.raises(meta.EffectSizeError, match="study 2, column 'n': expected a finite number, got 'n/a'"):
        meta.escalc("ZCOR", pd.DataFrame({"r": [0.1, 0.2], "n": [20, "n/a"]}), ri="r", ni="n")
    with pytest.raises(meta.EffectSizeError, match="not a column of the data"):
        meta.escalc("ZCOR", pd.DataFrame({"r": [0.1]}), ri="r", ni="size")
    with pytest.raises(meta.EffectSizeError, match="unknown measure"):
        meta.escalc("HR", yi=[1])


# ------------------------------------------------------------------------------------------------ rma


def test_equal_and_dl_models_match_stata_metan_on_bcg():
    # wviechtb/metafor tests/testthat/test_misc_metan_vs_rma.uni_with_dat.bcg.r (metan tpos tneg cpos cneg, ...)
    rr = bcg("RR")
    ee = meta.rma(rr["yi"], rr["vi"], method="FE")
    assert ee.method == "EE" and near(ee.beta, -0.4303) and near(ee.ci_lb, -0.5097) and near(ee.ci_ub, -0.3509)
    assert near(ee.zval, -10.6247) and near(ee.QE, 152.2330)
    p = ee.transf(np.exp)
    assert near(p.pred, 0.6503) and near(p.ci_lb, 0.6007) and near(p.ci_ub, 0.7040)
    dl = meta.rma(rr["yi"], rr["vi"], method="DL")
    assert near(dl.beta, -0.7141) and near(dl.ci_lb, -1.0644) and near(dl.ci_ub, -0.3638)
    assert near(dl.zval, -3.9952) and near(dl.tau2, 0.3088) and near(dl.I2, 92.1173)
    p = dl.transf(np.exp)
    assert near(p.pred, 0.4896) and near(p.ci_lb, 0.3449) and near(p.ci_ub, 0.6950)
    odds = bcg("OR")
    ee, dl = meta.rma(odds["yi"], odds["vi"], method="EE"), meta.rma(odds["yi"], odds["vi"], method="DL")
    assert near(ee.beta, -0.4361) and near(ee.ci_lb, -0.5190) and near(ee.ci_ub, -0.3533)
    assert near(ee.zval, -10.3190) and near(ee.QE, 163.1649)
    assert near(dl.beta, -0.7474) and near(dl.ci_lb, -1.1242) and near(dl.ci_ub, -0.3706)
    assert near(dl.zval, -3.8873) and near(dl.tau2, 0.3663) and near(dl.I2, 92.6455)
    diff = bcg("RD")
    ee, dl = meta.rma(diff["yi"], diff["vi"], method="EE"), meta.rma(diff["yi"], diff["vi"], method="DL")
    assert near(ee.beta, -0.0009) and near(ee.ci_lb, -0.0014) and near(ee.ci_ub, -0.0005)
    assert near(ee.zval, -4.0448) and near(ee.QE, 276.4737)
    assert near(dl.beta, -0.0071) and near(dl.ci_lb, -0.0101) and near(dl.ci_ub, -0.0040)
    assert near(dl.zval, -4.5128) and near(dl.tau2, 0.0) and near(dl.I2, 95.6596)


def test_reml_with_knapp_hartung_matches_the_metafor_readme():
    # wviechtb/metafor README.md: rma(yi, vi, data=dat, test="knha") on the BCG log risk ratios
    rr = bcg("RR")
    res = meta.rma(rr["yi"], rr["vi"], test="knha")
    assert near(res.tau2, 0.3132) and near(res.tau, 0.5597) and near(res.I2, 92.22, 5e-3) and near(res.H2, 12.86, 5e-3)
    assert near(res.QE, 152.2330) and res.QEp < 1e-4 and res.df == 12
    assert near(res.beta, -0.7145) and near(res.se, 0.1808) and near(res.tval, -3.9522) and near(res.pval, 0.0019)
    assert near(res.ci_lb, -1.1084) and near(res.ci_ub, -0.3206)
    # predict(res, transf=exp, digits=2): the prediction interval uses t with k - 1 df under knha
    p = res.transf(np.exp)
    assert [round(x, 2) for x in (p.pred, p.ci_lb, p.ci_ub, p.pi_lb, p.pi_ub)] == [0.49, 0.33, 0.73, 0.14, 1.76]


def test_reml_matches_metafor_to_full_precision():
    # wviechtb/metafor tests/testthat/test_misc_influence.r: influence(rma(yi, vi, data=dat)) on the BCG log RRs
    # stores the model's tau2 and QE unrounded
    rr = bcg("RR")
    res = meta.rma(rr["yi"], rr["vi"])
    assert res.tau2 == pytest.approx(0.313243325980895, abs=1e-5) and res.QE == pytest.approx(152.233008082373,
                                                                                               abs=1e-9)
    # the published REML numbers (metafor README.md prints the same fit)
    assert near(res.tau2, 0.3132) and near(res.I2, 92.22, 5e-3)
    assert near(res.beta, -0.7145) and near(res.se, 0.1798) and near(res.zval, -3.9744)
    assert near(res.ci_lb, -1.0669) and near(res.ci_ub, -0.3622)


def test_heterogeneity_estimators_reproduce_viechtbauer_2005():
    # wviechtb/metafor tests/testthat/test_analysis_example_viechtbauer2005.r (Viechtbauer 2005, pp. 271-272)
    ex1 = ([-0.581, 0.530, 0.771, 1.031, 0.553, 0.295, 0.078, 0.573, -0.176, -0.232],
           [0.023, 0.052, 0.060, 0.115, 0.095, 0.203, 0.200, 0.211, 0.051, 0.040])
    ex2 = ([0.100, -0.162, -0.090, -0.049, -0.046, -0.010, -0.431, -0.261, 0.134, 0.019, 0.175, 0.056, 0.045, 0.103,
            0.121, -0.482, 0.290, 0.342],
           [0.016, 0.015, 0.050, 0.050, 0.032, 0.052, 0.036, 0.024, 0.034, 0.033, 0.031, 0.034, 0.039, 0.167, 0.134,
            0.096, 0.016, 0.035])
    expected = {  # method: (tau2, I2, H2) for example 1, then example 2
        "HE": ((0.148, 68.80, 3.21), (0.000, 0.00, 1.00)),
        "DL": ((0.277, 80.44, 5.11), (0.013, 27.53, 1.38)),
        "ML": ((0.197, 74.51, 3.92), (0.013, 28.45, 1.40)),
        "REML": ((0.223, 76.84, 4.32), (0.016, 32.02, 1.47)),
        "SJ": ((0.199, 74.75, 3.96), (0.025, 42.67, 1.74)),
    }
    for method, results in expected.items():
        for (yi, vi), (tau2, i2, h2) in zip((ex1, ex2), results, strict=True):
            res = meta.rma(yi, vi, method=method)
            assert (round(res.tau2, 3), round(res.I2, 2), round(res.H2, 2)) == (tau2, i2, h2), method


def test_paule_mandel_and_knha_match_metafor_at_high_precision():
    # statsmodels/statsmodels statsmodels/stats/tests/results/results_meta.py: Kacker (2004) data run through
    # metafor with control=list(tol=1e-9): rma(y, v, method="PM") and rma(y, v, method="DL", test="knha")
    y = [61.0, 61.4, 62.21, 62.3, 62.34, 62.6, 62.7, 62.84, 65.9]
    v = [0.2025, 1.2100, 0.0900, 0.2025, 0.3844, 0.5625, 0.0676, 0.0225, 1.8225]
    pm = meta.rma(y, v, method="PM")
    assert pm.tau2 == pytest.approx(0.705395309224248, abs=1e-8)
    assert pm.beta == pytest.approx(62.4076199113286, abs=1e-8) and pm.se == pytest.approx(0.338030602684471, abs=1e-8)
    assert pm.QE == pytest.approx(24.801897741835, abs=1e-8) and pm.QEp == pytest.approx(0.00167935146372742, abs=1e-10)
    assert pm.I2 == pytest.approx(83.7218626490482, abs=1e-6) and pm.H2 == pytest.approx(6.14320900751909, abs=1e-7)
    knha = meta.rma(y, v, method="DL", test="knha")
    assert knha.tau2 == pytest.approx(0.288049246973751, abs=1e-10)
    assert knha.se == pytest.approx(0.29477605699879, abs=1e-10) and knha.tval == pytest.approx(211.652666908108,
                                                                                                abs=1e-6)
    assert knha.ci_lb == pytest.approx(61.710383798052, abs=1e-9) and knha.ci_ub == pytest.approx(63.0698934108488,
                                                                                                  abs=1e-9)
    assert knha.pval == pytest.approx(2.77938607433693e-16, rel=1e-6)


def test_tau2_is_truncated_at_zero_and_ee_has_no_heterogeneity():
    res = meta.rma([0.1, 0.1, 0.1], [0.01, 0.02, 0.03], method="DL")
    assert res.tau2 == 0 and res.I2 == 0 and res.H2 == pytest.approx(1)
    for method in meta.METHODS:
        assert meta.rma([0.1, 0.2, 0.11], [0.05, 0.04, 0.06], method=method).tau2 >= 0


def test_weights_are_the_models_inverse_variance_weights_in_percent():
    rr = bcg("RR")
    res = meta.rma(rr["yi"], rr["vi"])
    w = 1 / (rr["vi"] + res.tau2)
    assert sum(res.weights) == pytest.approx(100)
    assert np.allclose(res.weights, 100 * w / w.sum())


def test_a_single_study_is_reported_not_pooled():
    res = meta.rma([-0.8893], [0.3256])
    assert not res.pooled and res.k == 1 and math.isnan(res.tau2) and math.isnan(res.I2)
    assert res.beta == -0.8893 and res.ci_lb == pytest.approx(-0.8893 - 1.959964 * math.sqrt(0.3256))
    with pytest.raises(meta.CannotPool):
        meta.rma([], [])


def test_bad_model_input_is_a_located_error():
    with pytest.raises(meta.EffectSizeError, match="study 2, column 'vi': expected a sampling variance > 0"):
        meta.rma([0.1, 0.2], [0.1, 0])
    with pytest.raises(meta.EffectSizeError, match="study 1, column 'yi': missing"):
        meta.rma([float("nan"), 0.2], [0.1, 0.1])
    with pytest.raises(ValueError, match="unknown method"):
        meta.rma([0.1, 0.2], [0.1, 0.1], method="BAYES")


# ------------------------------------------------------------------------------------------------ extras


def test_cumulative_by_year_matches_metafor_cumul():
    # wviechtb/metafor tests/testthat/test_misc_cumul.r: cumul(rma(yi, vi, data=dat), order=year), log RR
    rr = bcg("RR")
    out = meta.cumulative(rr["yi"], rr["vi"], order=BCG.year, labels=BCG.author)
    expected = [-0.889311, -1.325003, -0.97208, -1.001094, -1.101424, -0.973464, -0.901251, -0.788566, -0.865607,
                -0.785211, -0.708206, -0.794768, -0.714532]
    assert np.allclose(out["estimate"], expected, atol=P4, rtol=0)
    assert np.allclose(np.exp(out["estimate"]), [0.410939, 0.265802, 0.378296, 0.367477, 0.332398, 0.377772,
                                                 0.406061, 0.454496, 0.420796, 0.456024, 0.492527, 0.451686,
                                                 0.489421], atol=P4, rtol=0)
    # ties (1973: Frimodt-Moller, then Vandiviere) keep the data's order, as R's order() does
    assert list(out["added"][:4]) == ["Aronson", "Ferguson & Simes", "Stein & Aronson", "Rosenthal et al"]
    assert not out["pooled"][0] and out["pooled"][1:].all()


def test_leave_one_out_matches_metafor_leave1out():
    # wviechtb/metafor tests/testthat/test_misc_influence.r: leave1out(rma(yi, vi, data=dat)), first row (the BCG
    # log RRs without Aronson 1948), stored unrounded
    rr = bcg("RR")
    out = meta.leave1out(rr["yi"], rr["vi"], labels=BCG.author)
    first = out.iloc[0]
    assert first["omitted"] == "Aronson" and len(out) == 13 and (out["k"] == 12).all()
    expected = {"estimate": -0.707083788031436, "se": 0.189961024702717, "zval": -3.72225717953459,
                "pval": 0.000197449759023198, "ci_lb": -1.07940055491509, "ci_ub": -0.334767021147788,
                "QE": 151.582572747109, "tau2": 0.336156745300306, "I2": 93.2259349111223, "H2": 14.762184698253}
    for name, value in expected.items():
        assert first[name] == pytest.approx(value, abs=1e-4), name
    assert first["QEp"] == pytest.approx(7.0778599767807e-27, rel=1e-6)


def test_meta_regression_on_latitude_matches_the_metafor_readme():
    # wviechtb/metafor README.md: rma(yi, vi, mods = ~ ablat, data=dat, test="knha")
    rr = bcg("RR")
    res = meta.metareg(rr["yi"], rr["vi"], BCG["ablat"], test="knha")
    assert res.names == ("intrcpt", "ablat")
    assert near(res.tau2, 0.0764) and near(res.I2, 68.39, 5e-3) and near(res.H2, 3.16, 5e-3)
    assert near(res.QE, 30.7331) and near(res.QEp, 0.0012) and res.df == 11
    assert near(res.QM, 12.5905) and near(res.QMp, 0.0046)
    i, a = res.coef("intrcpt"), res.coef("ablat")
    assert near(i["estimate"], 0.2515) and near(i["se"], 0.2839) and near(i["stat"], 0.8857) and near(i["pval"], 0.3948)
    assert near(i["ci_lb"], -0.3735) and near(i["ci_ub"], 0.8764)
    assert near(a["estimate"], -0.0291) and near(a["se"], 0.0082) and near(a["stat"], -3.5483)
    assert near(a["ci_lb"], -0.0472) and near(a["ci_ub"], -0.0111)


def test_subgroups_pool_each_group_and_test_the_difference():
    rr = bcg("RR")
    res = meta.subgroups(rr["yi"], rr["vi"], BCG["alloc"])
    assert list(res.groups) == ["random", "alternate", "systematic"]
    random = BCG["alloc"] == "random"
    alone = meta.rma(rr["yi"][random], rr["vi"][random])
    assert res.groups["random"].beta == pytest.approx(alone.beta) and res.groups["random"].k == 7
    assert res.QMdf == 2 and res.Qbetdf == 2 and 0 < res.QMp < 1
    # with equal effects, the moderator test of the group model is exactly Q between subgroups
    ee = meta.subgroups(rr["yi"], rr["vi"], BCG["alloc"], method="EE")
    assert ee.QM == pytest.approx(ee.Qbet)
    q_within = sum(g.QE for g in ee.groups.values())
    assert ee.Qbet == pytest.approx(meta.rma(rr["yi"], rr["vi"], method="EE").QE - q_within)


def test_the_allocation_factor_is_tested_as_metafor_tests_it():
    # wviechtb/metafor tests/testthat/test_misc_anova.r, "anova() works correctly when using the 'btt' argument":
    # rma(yi, vi, mods = ~ ablat + alloc, data=dat); anova(res, btt=3:4) (the alloc dummies, 'alternate' the
    # reference level as R orders a factor's levels) gives QM = 1.2850, p = 0.5260; with test="knha" 0.6007,
    # p = 0.5690. No published source prints the test of rma(yi, vi, mods = ~ alloc) alone (metafor's forest plot
    # with subgroups draws it only inside its image), so the subgroup test's dummy coding and Wald test are checked
    # here, in the model metafor's own test prints, and the subgroup test is the same test of the same dummies.
    rr = bcg("RR")
    x = pd.DataFrame({"ablat": BCG["ablat"].astype(float),
                      "random": (BCG["alloc"] == "random").astype(float),
                      "systematic": (BCG["alloc"] == "systematic").astype(float)})
    qm, df, p = meta.metareg(rr["yi"], rr["vi"], x).anova(["random", "systematic"])
    assert df == 2 and near(qm, 1.2850) and near(p, 0.5260)
    qm, df, p = meta.metareg(rr["yi"], rr["vi"], x, test="knha").anova(["random", "systematic"])
    assert df == 2 and near(qm, 0.6007) and near(p, 0.5690)
    # the subgroup test of allocation is this Wald test of its dummies in the model without latitude
    alone = meta.metareg(rr["yi"], rr["vi"], x[["random", "systematic"]])
    sub = meta.subgroups(rr["yi"], rr["vi"], BCG["alloc"])  # its reference is "random": the test does not care
    assert sub.QM == pytest.approx(alone.anova(["random", "systematic"])[0], rel=1e-9)
    assert sub.QM == pytest.approx(alone.QM, rel=1e-9)
    with pytest.raises(ValueError, match="no coefficient 'year'"):
        alone.anova(["year"])


def test_pooling_ten_thousand_studies_with_reml_recovers_the_simulated_truth():
    # the time it takes is measured by `tasks.py bench --meta-only` (benchmarks/results.json, meta_reml_10000),
    # not asserted here: a shared machine would make a timed assertion flaky
    rng = np.random.default_rng(1)
    vi = rng.uniform(0.01, 0.5, 10_000)
    yi = rng.normal(-0.5, np.sqrt(vi + 0.3))
    res = meta.rma(yi, vi)
    assert abs(res.tau2 - 0.3) < 0.05 and abs(res.beta + 0.5) < 0.05
    reg = meta.metareg(yi, vi, rng.normal(size=yi.size))
    assert abs(reg.beta[1]) < 4 * reg.se[1] + 1e-9


@pytest.mark.parametrize("method", ["ML", "REML"])
def test_likelihood_estimates_maximise_their_likelihood(method):
    # the scoring iterations and the likelihood that metafor's ll0check compares must agree: the estimate is the
    # maximum of the (restricted) likelihood, above its neighbours and above tau^2 = 0
    for yi, vi in ((bcg("RR")["yi"], bcg("RR")["vi"]), (MOLLOY_Z["yi"], MOLLOY_Z["vi"])):
        res = meta.rma(yi, vi, method=method)
        model = meta._Model(np.ones((len(yi), 1)), np.asarray(yi, float), np.asarray(vi, float))
        best = meta._loglik(model, res.tau2, method)
        for other in (0.0, res.tau2 * 0.9, res.tau2 * 1.1):
            assert best >= meta._loglik(model, other, method)


MOLLOY_Z = meta.escalc("ZCOR", MOLLOY, ri="ri", ni="ni")
