# Reference values for tests/indicators/test_r_reference.py, computed with R `survey`.
# Run: Rscript tests/indicators/reference/tiny_design.R  (writes tiny_design_R.csv beside it)
# Person rates are weighted proportions with weights w*size (the ratio estimator); subsets keep the
# full design information (R's subset = domain estimation); Korn-Graubard = svyciprop(method="beta").
suppressMessages(library(survey))
here <- dirname(sub("--file=", "", grep("--file=", commandArgs(FALSE), value = TRUE)))
d <- read.csv(file.path(here, "tiny_design.csv"), stringsAsFactors = FALSE)
d$wp <- d$w * d$size
d$exit_pop <- d$status %in% c("exited", "exiting")
d$reg_pop <- d$status %in% c("poor", "exited", "exiting")
d$scope <- d$status %in% c("poor", "not_registered")
d$id_err <- ifelse(d$status == "poor", d$wrong_inclusion, d$missed)
pers <- svydesign(ids = ~psu, strata = ~stratum, weights = ~wp, data = d, nest = TRUE)
hh <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE)
out <- data.frame()
add <- function(name, fit, method) {
  ci <- attr(fit, "ci")
  out <<- rbind(out, data.frame(indicator = name, estimate = sprintf("%.17g", as.numeric(coef(fit))),
                                se = sprintf("%.17g", as.numeric(SE(fit))), ci_low = sprintf("%.17g", ci[1]),
                                ci_high = sprintf("%.17g", ci[2]), method = method))
}
add("wrong_exit_rate", svyciprop(~I(wrong_exit == 1), subset(pers, exit_pop), method = "beta"), "korn-graubard")
add("missed_rate", svyciprop(~I(missed == 1), subset(pers, status == "not_registered"), method = "beta"), "korn-graubard")
add("wrong_inclusion_rate", svyciprop(~I(wrong_inclusion == 1), subset(pers, status == "poor"), method = "beta"), "korn-graubard")
add("identification_error", svyciprop(~I(id_err == 1), subset(pers, scope), method = "beta"), "korn-graubard")
add("satisfaction", svyciprop(~I(satisfied == 1), subset(hh, reg_pop), method = "logit"), "logit")
add("recognition_rate", svyciprop(~I(recognises == 1), hh, method = "logit"), "logit")
# composite poverty incidence, province level: (P + r_m N_nr + r_e N_ex) / N with registry constants
d$ym <- d$size * d$missed; d$xm <- d$size * (d$status == "not_registered")
d$ye <- d$size * d$wrong_exit; d$xe <- d$size * d$exit_pop
hh <- svydesign(ids = ~psu, strata = ~stratum, weights = ~w, data = d, nest = TRUE)
tot <- svytotal(~ym + xm + ye + xe, hh)
P <- 500; Nnr <- 3500; Nex <- 1200; N <- P + Nnr + Nex
pi_fit <- svycontrast(tot, substitute((P + ym / xm * Nnr + ye / xe * Nex) / N,
                                      list(P = P, Nnr = Nnr, Nex = Nex, N = N)))
out <- rbind(out, data.frame(indicator = "poverty_incidence", estimate = sprintf("%.17g", as.numeric(coef(pi_fit))),
                             se = sprintf("%.17g", as.numeric(SE(pi_fit))), ci_low = NA, ci_high = NA,
                             method = "linearization"))
write.csv(out, file.path(here, "tiny_design_R.csv"), row.names = FALSE)
print(out)
