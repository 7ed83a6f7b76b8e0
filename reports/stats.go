package reports

import (
	"math"

	"gonum.org/v1/gonum/stat"
	"gonum.org/v1/gonum/stat/distuv"
)

// MeanCI95 returns the sample mean of xs and the half-width of its 95%
// confidence interval from Student's t with n−1 degrees of freedom. With
// fewer than two samples the half-width is 0.
func MeanCI95(xs []float64) (mean, half float64) {
	if len(xs) == 0 {
		return 0, 0
	}
	mean = stat.Mean(xs, nil)
	if len(xs) < 2 {
		return mean, 0
	}
	sd := stat.StdDev(xs, nil)
	t := distuv.StudentsT{Mu: 0, Sigma: 1, Nu: float64(len(xs) - 1)}.Quantile(0.975)
	half = t * sd / math.Sqrt(float64(len(xs)))
	return mean, half
}
