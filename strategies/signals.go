package strategies

// signalCatalogue registers the server-signal family: prequal, c3, orca-wrr.
var signalCatalogue = []Info{}
