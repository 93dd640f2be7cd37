package videosvc

// FanoutBatch is fanoutBatch, for the external tests that cross its boundary.
const FanoutBatch = fanoutBatch
