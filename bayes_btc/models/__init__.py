"""PyMC model builders, one model per file. They declare graphs only: no data loading, no
sampling, no reporting. Every model batches endpoints and priors as dimensions so that one
compilation serves all of them."""
