# Reference values for evalkit's estimation engine, produced with R `survey`.
#
# Run from the repository root:   Rscript tests/estimation/reference/make_reference.R
# Writes (next to this script):
#   api_strat.csv, api_clus1.csv, api_clus2.csv  – survey's own `api` data (columns used)
#   synth.csv, synth_lonely.csv                  – small synthetic stratified cluster samples
#   reference_values.csv                         – case, variable, domain, quantity, value (%.17g)
# The CSVs are committed so the tests need no R.
suppressPackageStartupMessages(library(survey))
data(api)
here <- "tests/estimation/reference"
out <- list()
rec <- function(case, variable, domain, quantity, value) {
  out[[length(out) + 1]] <<- data.frame(case = case, variable = variable, domain = as.character(domain),
                                        quantity = quantity, value = sprintf("%.17g", as.numeric(value)))
}
wcsv <- function(df, name) write.csv(df, file.path(here, name), row.names = FALSE, na = "")

# ---- data -------------------------------------------------------------------------
strat <- data.frame(stype = as.character(apistrat$stype), snum = apistrat$snum, pw = apistrat$pw,
                    fpc = apistrat$fpc, api00 = apistrat$api00, api99 = apistrat$api99,
                    enroll = apistrat$enroll, sch_wide = as.integer(apistrat$sch.wide == "Yes"),
                    awards = as.character(apistrat$awards), comp_imp = as.integer(apistrat$comp.imp == "Yes"))
clus1 <- data.frame(dnum = apiclus1$dnum, snum = apiclus1$snum, pw = apiclus1$pw, fpc = apiclus1$fpc,
                    stype = as.character(apiclus1$stype), api00 = apiclus1$api00, api99 = apiclus1$api99,
                    sch_wide = as.integer(apiclus1$sch.wide == "Yes"), enroll = apiclus1$enroll)
clus2 <- data.frame(dnum = apiclus2$dnum, snum = apiclus2$snum, pw = apiclus2$pw, fpc1 = apiclus2$fpc1,
                    fpc2 = as.numeric(apiclus2$fpc2), stype = as.character(apiclus2$stype),
                    api00 = apiclus2$api00, api99 = apiclus2$api99,
                    sch_wide = as.integer(apiclus2$sch.wide == "Yes"))
wcsv(strat, "api_strat.csv"); wcsv(clus1, "api_clus1.csv"); wcsv(clus2, "api_clus2.csv")

set.seed(20261122)
rows <- list()
for (h in 1:8) {
  npsu <- c(2, 3, 4, 5, 3, 6, 2, 4)[h]
  for (j in 1:npsu) {
    m <- sample(4:12, 1)
    x <- sample(1:6, m, replace = TRUE)
    dom <- sample(c("A", "B", "C", "D"), m, replace = TRUE, prob = c(.4, .3, .2, .1))
    p <- c(A = .3, B = .1, C = .02, D = 0)[dom]
    y <- rbinom(m, 1, p)
    rows[[length(rows) + 1]] <- data.frame(stratum = h, psu = j, N1 = npsu * 3 + h,
      w = round(runif(m, 20, 80), 3), x = x, y = y, yp = y * x,
      inc = round(rlnorm(m, 8, 0.6), 2), d = dom, rare = as.integer(dom == "C" & y == 1))
  }
}
synth <- do.call(rbind, rows)
wcsv(synth, "synth.csv")
lonely <- rbind(synth, data.frame(stratum = 9, psu = 1, N1 = 10, w = c(50, 60, 70), x = c(2, 3, 4),
                                  y = c(1, 0, 1), yp = c(2, 0, 4), inc = c(3000, 5000, 4000),
                                  d = c("A", "B", "A"), rare = 0))
wcsv(lonely, "synth_lonely.csv")

# ---- helpers ----------------------------------------------------------------------
rec_stat <- function(case, variable, s, domain = "") {
  rec(case, variable, domain, "estimate", coef(s)[1]); rec(case, variable, domain, "se", SE(s)[1])
}
rec_by <- function(case, variable, b, dfs = NULL) {
  doms <- as.character(b[[1]])
  cf <- coef(b); se <- SE(b)
  for (i in seq_along(doms)) {
    rec(case, variable, doms[i], "estimate", cf[i]); rec(case, variable, doms[i], "se", se[i])
    if (!is.null(dfs)) rec(case, variable, doms[i], "df", dfs[i])
  }
  if (!is.null(attr(b, "deffs")) || "DEff" %in% names(b) || any(grepl("^DEff", names(b)))) {
    dc <- grep("^DEff", names(b)); for (i in seq_along(doms)) rec(case, variable, doms[i], "deff", b[i, dc[1]])
  }
}
dom_df <- function(des, var, levs) sapply(levs, function(l) degf(subset(des, get(var) == l)))
ciprop_by <- function(case, variable, formula, byf, des, method, level = 0.95) {
  b <- svyby(formula, byf, des, svyciprop, vartype = c("se", "ci"), method = method, level = level)
  doms <- as.character(b[[1]])
  for (i in seq_along(doms)) {
    rec(case, variable, doms[i], paste0("ci_low_", method, "_", level), b$ci_l[i])
    rec(case, variable, doms[i], paste0("ci_high_", method, "_", level), b$ci_u[i])
  }
  if (method == "logit") {
    # svyciprop(method="logit") fits svyglm by IRLS (glm.fit epsilon 1e-8), so its bounds carry
    # the iteration's error (up to ~1e-7 relative for rare domains). The same interval in
    # closed form, from svymean's SE and the domain df (what svyglm converges to):
    mb <- svyby(formula, byf, des, svymean)
    v <- all.vars(byf)
    dfs <- sapply(doms, function(l) degf(subset(des, get(v) == l)))
    p <- coef(mb); s <- SE(mb) / (p * (1 - p)); q <- qt(1 - (1 - level) / 2, dfs)
    for (i in seq_along(doms)) {
      rec(case, variable, doms[i], paste0("ci_low_logitexact_", level), plogis(qlogis(p[i]) - q[i] * s[i]))
      rec(case, variable, doms[i], paste0("ci_high_logitexact_", level), plogis(qlogis(p[i]) + q[i] * s[i]))
    }
  }
}
ciprop_all <- function(case, variable, formula, des, method, level = 0.95) {
  p <- svyciprop(formula, des, method = method, level = level)
  ci <- attr(p, "ci")
  rec(case, variable, "", paste0("ci_low_", method, "_", level), ci[1])
  rec(case, variable, "", paste0("ci_high_", method, "_", level), ci[2])
}

# ---- 1. stratified, fpc (apistrat) ------------------------------------------------
options(survey.lonely.psu = "fail")
d1 <- svydesign(ids = ~1, strata = ~stype, fpc = ~fpc, weights = ~pw, data = strat)
m <- svymean(~api00, d1, deff = "replace"); rec_stat("strat_fpc", "api00", m)
rec("strat_fpc", "api00", "", "deff", deff(m))
m <- svymean(~api00, d1, deff = TRUE); rec("strat_fpc", "api00", "", "deff_noreplace", deff(m))
rec("strat_fpc", "", "", "df", degf(d1))
m <- svymean(~sch_wide, d1); rec_stat("strat_fpc", "sch_wide", m)
for (meth in c("logit", "beta")) for (lv in c(0.95, 0.9)) ciprop_all("strat_fpc", "sch_wide", ~sch_wide, d1, meth, lv)
t <- svytotal(~enroll, d1, deff = "replace"); rec_stat("strat_fpc_total", "enroll", t)
rec("strat_fpc_total", "enroll", "", "deff", deff(t))
r <- svyratio(~api00, ~api99, d1, deff = "replace"); rec("strat_fpc_ratio", "api00/api99", "", "estimate", coef(r))
rec("strat_fpc_ratio", "api00/api99", "", "se", SE(r)); rec("strat_fpc_ratio", "api00/api99", "", "deff", deff(r))
b <- svyby(~api00, ~awards, d1, svymean, deff = "replace")
rec_by("strat_fpc_by", "api00", b, dom_df(d1, "awards", as.character(b$awards)))
ciprop_by("strat_fpc_by", "sch_wide", ~sch_wide, ~awards, d1, "logit")
ciprop_by("strat_fpc_by", "sch_wide", ~sch_wide, ~awards, d1, "beta")
b <- svyby(~api00, ~awards, d1, svyratio, denominator = ~api99)
rec_by("strat_fpc_by_ratio", "api00/api99", b)

# ---- 2. one-stage cluster with fpc (apiclus1) --------------------------------------
d2 <- svydesign(ids = ~dnum, fpc = ~fpc, weights = ~pw, data = clus1)
rec_stat("clus1_fpc", "api00", svymean(~api00, d2)); rec("clus1_fpc", "", "", "df", degf(d2))
m <- svymean(~sch_wide, d2, deff = "replace"); rec_stat("clus1_fpc", "sch_wide", m)
rec("clus1_fpc", "sch_wide", "", "deff", deff(m))
ciprop_all("clus1_fpc", "sch_wide", ~sch_wide, d2, "logit"); ciprop_all("clus1_fpc", "sch_wide", ~sch_wide, d2, "beta")
b <- svyby(~api00, ~stype, d2, svymean, deff = "replace")
rec_by("clus1_fpc_by", "api00", b, dom_df(d2, "stype", as.character(b$stype)))
r <- svyratio(~api00, ~api99, d2); rec("clus1_fpc_ratio", "api00/api99", "", "estimate", coef(r))
rec("clus1_fpc_ratio", "api00/api99", "", "se", SE(r))
# JK1 (unstratified jackknife) with and without fpc
r1 <- as.svrepdesign(d2, type = "JK1")
rec_stat("clus1_jk1_fpc", "api00", svymean(~api00, r1))
b <- svyby(~api00, ~stype, r1, svymean); rec_by("clus1_jk1_fpc_by", "api00", b)
d2n <- svydesign(ids = ~dnum, weights = ~pw, data = clus1)
r1n <- as.svrepdesign(d2n, type = "JK1")
rec_stat("clus1_jk1", "api00", svymean(~api00, r1n))
rs <- svyratio(~api00, ~api99, r1n); rec("clus1_jk1_ratio", "api00/api99", "", "estimate", coef(rs))
rec("clus1_jk1_ratio", "api00/api99", "", "se", SE(rs))

# ---- 3. two-stage cluster, fpc at both stages (apiclus2) ----------------------------
d3 <- svydesign(ids = ~dnum + snum, fpc = ~fpc1 + fpc2, weights = ~pw, data = clus2)
rec_stat("clus2_fpc", "api00", svymean(~api00, d3)); rec("clus2_fpc", "", "", "df", degf(d3))
rec_stat("clus2_fpc", "sch_wide", svymean(~sch_wide, d3))
t <- svytotal(~api00, d3); rec_stat("clus2_fpc_total", "api00", t)
r <- svyratio(~api00, ~api99, d3); rec("clus2_fpc_ratio", "api00/api99", "", "estimate", coef(r))
rec("clus2_fpc_ratio", "api00/api99", "", "se", SE(r))
b <- svyby(~api00, ~stype, d3, svymean); rec_by("clus2_fpc_by", "api00", b, dom_df(d3, "stype", as.character(b$stype)))
# first stage only (ultimate cluster): fpc1 only
d3b <- svydesign(ids = ~dnum + snum, fpc = ~fpc1 + fpc2, weights = ~pw, data = clus2)
# fpc given as sampling fractions instead of counts: same results
fr <- clus2; fr$f1 <- 40 / fr$fpc1; fr$f2 <- ave(fr$snum, fr$dnum, FUN = length) / fr$fpc2
d3f <- svydesign(ids = ~dnum + snum, fpc = ~f1 + f2, weights = ~pw, data = fr)
rec_stat("clus2_frac", "api00", svymean(~api00, d3f))

# ---- 4. stratified cluster without fpc (synthetic, PSU ids repeat across strata) -----
d4 <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = synth, nest = TRUE)
rec("synth", "", "", "df", degf(d4))
for (v in c("y", "inc")) { m <- svymean(as.formula(paste0("~", v)), d4, deff = "replace"); rec_stat("synth", v, m); rec("synth", v, "", "deff", deff(m)) }
m <- svymean(~y, d4, deff = TRUE); rec("synth", "y", "", "deff_noreplace", deff(m))
r <- svyratio(~yp, ~x, d4, deff = "replace"); rec("synth_ratio", "yp/x", "", "estimate", coef(r))
rec("synth_ratio", "yp/x", "", "se", SE(r)); rec("synth_ratio", "yp/x", "", "deff", deff(r))
for (meth in c("logit", "beta")) ciprop_all("synth", "y", ~y, d4, meth)
levs <- sort(unique(synth$d))
b <- svyby(~y, ~d, d4, svymean, deff = "replace"); rec_by("synth_by", "y", b, dom_df(d4, "d", levs))
b <- svyby(~inc, ~d, d4, svymean, deff = "replace"); rec_by("synth_by", "inc", b, dom_df(d4, "d", levs))
for (meth in c("logit", "beta")) ciprop_by("synth_by", "y", ~y, ~d, d4, meth)
b <- svyby(~yp, ~d, d4, svyratio, denominator = ~x); rec_by("synth_by_ratio", "yp/x", b)
b <- svyby(~inc, ~d, d4, svytotal); rec_by("synth_by_total", "inc", b)
# two-way domains (d x stratum parity)
synth$half <- ifelse(synth$stratum <= 4, "lo", "hi")
d4 <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = synth, nest = TRUE)
b <- svyby(~y, ~d + half, d4, svymean)
for (i in seq_len(nrow(b))) {
  dm <- paste(b$d[i], b$half[i], sep = "|")
  rec("synth_by2", "y", dm, "estimate", coef(b)[i]); rec("synth_by2", "y", dm, "se", SE(b)[i])
}
# jackknife JKn
rj <- as.svrepdesign(d4, type = "JKn")
rec_stat("synth_jkn", "y", svymean(~y, rj)); rec_stat("synth_jkn", "inc", svymean(~inc, rj))
rs <- svyratio(~yp, ~x, rj); rec("synth_jkn_ratio", "yp/x", "", "estimate", coef(rs)); rec("synth_jkn_ratio", "yp/x", "", "se", SE(rs))
b <- svyby(~y, ~d, rj, svymean); rec_by("synth_jkn_by", "y", b)
rjm <- as.svrepdesign(d4, type = "JKn", mse = TRUE)
rec_stat("synth_jkn_mse", "y", svymean(~y, rjm))
rr <- svyratio(~yp + inc, ~x, rj, covmat = TRUE)
con <- svycontrast(rr, c(0.5, 2e-4))
rec("combo_jkn", "0.1+0.5*R1+2e-4*R2", "", "estimate", 0.1 + coef(con))
rec("combo_jkn", "0.1+0.5*R1+2e-4*R2", "", "se", SE(con))
# Rao-Wu bootstrap (random: compared in distribution, B = 4000)
set.seed(7)
rb <- as.svrepdesign(d4, type = "subbootstrap", replicates = 4000)
b <- svyby(~inc, ~d, rb, svytotal); rec_by("synth_subboot_by_total", "inc", b)
# JKn with fpc (apistrat)
rjs <- as.svrepdesign(d1, type = "JKn")
rec_stat("strat_jkn_fpc", "api00", svymean(~api00, rjs))
# combination: theta = a + b1*R1 + b2*R2 per domain, R1 = yp/x, R2 = inc/x (svycontrast)
for (l in levs) {
  sd <- subset(d4, d == l)
  rr <- svyratio(~yp + inc, ~x, sd, covmat = TRUE)
  cf <- coef(rr)
  con <- svycontrast(rr, c(0.5, 2e-4))
  rec("combo", "0.1+0.5*R1+2e-4*R2", l, "estimate", 0.1 + coef(con))
  rec("combo", "0.1+0.5*R1+2e-4*R2", l, "se", SE(con))
  rec("combo", "0.1+0.5*R1+2e-4*R2", l, "df", degf(sd))
}
rr <- svyratio(~yp + inc, ~x, d4, covmat = TRUE)
con <- svycontrast(rr, c(0.5, 2e-4))
rec("combo", "0.1+0.5*R1+2e-4*R2", "", "estimate", 0.1 + coef(con))
rec("combo", "0.1+0.5*R1+2e-4*R2", "", "se", SE(con))
# a mean and a ratio together: theta = 0.3*mean(y) + 0.7*R(yp/x)
mm <- svytotal(~y + yp + x + one, transform(d4, one = 1))
con <- svycontrast(mm, quote(0.3 * y / one + 0.7 * yp / x))
rec("combo2", "0.3*mean(y)+0.7*R(yp/x)", "", "estimate", coef(con))
rec("combo2", "0.3*mean(y)+0.7*R(yp/x)", "", "se", SE(con))

# ---- 4b. two stages, strata at both stages (villages in strata; households stratified by
#          registry status within village, fpc at both stages) — evalkit's own sampling design
s2 <- synth
s2$hh <- ave(seq_len(nrow(s2)), s2$stratum, s2$psu, FUN = seq_along)
s2$status <- ifelse(s2$hh %% 3 == 0, "poor", "non")
cell <- ave(s2$hh, s2$stratum, s2$psu, s2$status, FUN = length)
s2$N2 <- ifelse(cell == 1, 1, cell * 3 + s2$stratum)
wcsv(s2, "synth_2stage.csv")
d6 <- svydesign(ids = ~psu + hh, strata = ~stratum + status, fpc = ~N1 + N2, weights = ~w,
                data = s2, nest = TRUE)
rec_stat("two_stage_strata", "y", svymean(~y, d6)); rec_stat("two_stage_strata", "inc", svymean(~inc, d6))
r <- svyratio(~yp, ~x, d6); rec("two_stage_strata_ratio", "yp/x", "", "estimate", coef(r))
rec("two_stage_strata_ratio", "yp/x", "", "se", SE(r))
b <- svyby(~y, ~d, d6, svymean); rec_by("two_stage_strata_by", "y", b)
# lonely units at stage 2: single-household cells that are not censuses (N2 = 5)
s2l <- s2; s2l$N2[cell == 1] <- 5
wcsv(s2l, "synth_2stage_lonely.csv")
rec("two_stage_lonely", "", "", "n_lonely_cells", sum(cell == 1))
for (opt in c("remove", "adjust", "average", "certainty")) {
  options(survey.lonely.psu = opt)
  d7 <- svydesign(ids = ~psu + hh, strata = ~stratum + status, fpc = ~N1 + N2, weights = ~w,
                  data = s2l, nest = TRUE)
  rec_stat(paste0("two_stage_lonely_", opt), "inc", suppressWarnings(svymean(~inc, d7)))
  b <- suppressWarnings(svyby(~y, ~d, d7, svymean)); rec_by(paste0("two_stage_lonely_", opt, "_by"), "y", b)
}
options(survey.lonely.psu = "fail")

# ---- 5. lonely PSU options ---------------------------------------------------------
for (opt in c("remove", "adjust", "average", "certainty")) {
  options(survey.lonely.psu = opt)
  d5 <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = lonely, nest = TRUE)
  rec_stat(paste0("lonely_", opt), "y", svymean(~y, d5))
  rec_stat(paste0("lonely_", opt), "inc", svymean(~inc, d5))
  b <- suppressWarnings(svyby(~y, ~d, d5, svymean)); rec_by(paste0("lonely_", opt, "_by"), "y", b)
  rj <- as.svrepdesign(d5, type = "JKn")
  rec_stat(paste0("lonely_", opt, "_jkn"), "y", svymean(~y, rj))
  d5f <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, fpc = ~N1, data = lonely, nest = TRUE)
  rec_stat(paste0("lonely_", opt, "_fpc"), "y", svymean(~y, d5f))
}
options(survey.lonely.psu = "fail")

res <- do.call(rbind, out)
write.csv(res, file.path(here, "reference_values.csv"), row.names = FALSE)
cat("wrote", nrow(res), "reference values with R", R.version.string, "survey", as.character(packageVersion("survey")), "\n")
writeLines(c(R.version.string, paste("survey", packageVersion("survey"))), file.path(here, "R_VERSION.txt"))
