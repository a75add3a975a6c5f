# docs/experiments/strict-vs-deferred.md: gnuplot strict-vs-deferred.gp
# (in docs/experiments/img; -e "fmt='svg'" for SVG). Data: strict-vs-deferred.dat,
# one block per trace: inv.latency, IOMMU cycles per KiB, achieved/offered GB/s.
if (!exists("fmt")) fmt = 'png'
if (fmt eq 'svg') set terminal svg size 1000,420; else set terminal pngcairo size 1000,420
set output 'strict-vs-deferred.' . fmt
set multiplot layout 1,2
set key top left font ",9"
set grid
set xtics 1000
set xlabel 'inv.latency (cycles per invalidation)'
set ylabel 'IOMMU cycles per KiB (walks + invalidations)'
set logscale y
names = "nic10g-strict nic10g-deferred nvme-strict nvme-lazy nvme-mq-strict nvme-mq-lazy"
plot for [i=0:5] 'strict-vs-deferred.dat' index i using 1:2 with linespoints title word(names, i+1)
unset logscale y
set ylabel 'nic 10 GbE-like: achieved / offered rate'
set yrange [0:1.1]
set key bottom left
plot 'strict-vs-deferred.dat' index 0 using 1:($3/1.2456) with linespoints title 'strict (ours)', \
     'strict-vs-deferred.dat' index 1 using 1:($3/1.2456) with linespoints title 'deferred (ours)', \
     0.43 with lines dashtype 2 title 'paper: strict 43 %', \
     0.91 with lines dashtype 3 title 'paper: deferred 91 %'
unset multiplot
