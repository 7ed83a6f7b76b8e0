package strategies

// loadCatalogue registers the load- and latency-aware family: weighted-random, first, peak-ewma, least-time, jiq.
var loadCatalogue = []Info{}
